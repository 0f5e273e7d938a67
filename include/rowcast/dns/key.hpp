// rowcast/dns/key.hpp: TSIG keys and BIND key files.
//
// A `tsig_key` is a key name, an HMAC algorithm and the raw secret bytes.
// parse_key_file() reads BIND's format as tsig-keygen writes it:
//     key "name" { algorithm hmac-sha256; secret "base64…"; };
// (several keys per file, comments `#`, `//` and `/* */`, quotes optional
// around the name). load_key_file() reads it from disk; find_key() picks one.
//
// Errors: dns::errc::key_file with the line number and what is wrong
// ("unknown algorithm hmac-md5", "secret is not base64", …).
// Thread-safety: plain values.
#pragma once

#include <rowcast/detail/text.hpp>
#include <rowcast/dns/errc.hpp>
#include <rowcast/dns/message.hpp>
#include <rowcast/version.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace dns {

enum class tsig_algorithm { hmac_sha1, hmac_sha224, hmac_sha256, hmac_sha384, hmac_sha512 };

/// The algorithm's name as in key files and on the wire ("hmac-sha256").
constexpr std::string_view to_string(tsig_algorithm a) noexcept {
    switch (a) {
        case tsig_algorithm::hmac_sha1: return "hmac-sha1";
        case tsig_algorithm::hmac_sha224: return "hmac-sha224";
        case tsig_algorithm::hmac_sha256: return "hmac-sha256";
        case tsig_algorithm::hmac_sha384: return "hmac-sha384";
        case tsig_algorithm::hmac_sha512: return "hmac-sha512";
    }
    return "?";
}

/// Parses "hmac-sha256" etc. (case-insensitive, trailing dot allowed).
inline std::optional<tsig_algorithm> parse_tsig_algorithm(std::string_view s) {
    const std::string c = canonical_name(s);
    for (auto a : {tsig_algorithm::hmac_sha1, tsig_algorithm::hmac_sha224, tsig_algorithm::hmac_sha256,
                   tsig_algorithm::hmac_sha384, tsig_algorithm::hmac_sha512})
        if (c == to_string(a)) return a;
    return std::nullopt;
}

struct tsig_key {
    std::string name;  ///< key name ("rowcast-key"); compared case-insensitively
    tsig_algorithm algorithm = tsig_algorithm::hmac_sha256;
    std::string secret;  ///< raw secret bytes (decoded from base64)
};

/// Parses a BIND key file's text. `source` names it in errors.
inline result<std::vector<tsig_key>> parse_key_file(std::string_view text, std::string_view source = "key file") {
    // Tokenizer: words, quoted strings, and the punctuation { } ;
    struct token {
        std::string text;
        bool quoted = false;
        unsigned line = 1;
    };
    std::vector<token> toks;
    unsigned line = 1;
    auto fail = [&](unsigned at, std::string_view what) {
        return make_error(errc::key_file, std::string(source) + " line " + std::to_string(at), what);
    };
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
            ++i;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            ++i;
        } else if (c == '#' || (c == '/' && i + 1 < text.size() && text[i + 1] == '/')) {
            while (i < text.size() && text[i] != '\n') ++i;
        } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
            const std::size_t end = text.find("*/", i + 2);
            if (end == std::string_view::npos) return fail(line, "unterminated /* comment");
            for (std::size_t k = i; k < end; ++k)
                if (text[k] == '\n') ++line;
            i = end + 2;
        } else if (c == '{' || c == '}' || c == ';') {
            toks.push_back({std::string(1, c), false, line});
            ++i;
        } else if (c == '"') {
            const std::size_t end = text.find('"', i + 1);
            if (end == std::string_view::npos) return fail(line, "unterminated string");
            toks.push_back({std::string(text.substr(i + 1, end - i - 1)), true, line});
            for (std::size_t k = i; k < end; ++k)
                if (text[k] == '\n') ++line;
            i = end + 1;
        } else {
            std::size_t j = i;
            while (j < text.size() && std::string_view(" \t\r\n{};\"#").find(text[j]) == std::string_view::npos) ++j;
            toks.push_back({std::string(text.substr(i, j - i)), false, line});
            i = j;
        }
    }
    std::vector<tsig_key> keys;
    std::size_t p = 0;
    auto expect = [&](std::string_view what) -> bool {
        return p < toks.size() && !toks[p].quoted && toks[p].text == what;
    };
    const unsigned last_line = line;
    auto at = [&]() { return p < toks.size() ? toks[p].line : last_line; };
    while (p < toks.size()) {
        if (!expect("key")) return fail(at(), "expected 'key', found '" + toks[p].text + "'");
        ++p;
        if (p >= toks.size() || (!toks[p].quoted && (toks[p].text == "{" || toks[p].text == ";")))
            return fail(at(), "expected the key name");
        tsig_key k;
        k.name = toks[p++].text;
        if (auto r = rdata::name(k.name); !r || k.name.empty()) return fail(at(), "key name '" + k.name + "' is not a domain name");
        if (!expect("{")) return fail(at(), "expected '{' after the key name");
        ++p;
        bool have_alg = false, have_secret = false;
        while (p < toks.size() && !expect("}")) {
            const std::string field = toks[p].text;
            const unsigned fl = toks[p].line;
            ++p;
            if (p >= toks.size()) return fail(fl, "missing value for '" + field + "'");
            const token val = toks[p++];
            if (!expect(";")) return fail(at(), "expected ';' after " + field);
            ++p;
            if (field == "algorithm") {
                auto a = parse_tsig_algorithm(val.text);
                if (!a) return fail(fl, "unknown algorithm '" + val.text + "' (hmac-sha1/224/256/384/512)");
                k.algorithm = *a;
                have_alg = true;
            } else if (field == "secret") {
                std::string raw;
                if (!rowcast::detail::decode_base64(val.text, raw) || raw.empty())
                    return fail(fl, "secret is not base64");
                k.secret = std::move(raw);
                have_secret = true;
            } else {
                return fail(fl, "unknown field '" + field + "'");
            }
        }
        if (!expect("}")) return fail(at(), "key '" + k.name + "' is not closed with '}'");
        ++p;
        if (!expect(";")) return fail(at(), "expected ';' after '}'");
        ++p;
        if (!have_alg) return fail(at(), "key '" + k.name + "' has no algorithm");
        if (!have_secret) return fail(at(), "key '" + k.name + "' has no secret");
        keys.push_back(std::move(k));
    }
    if (keys.empty()) return fail(last_line, "no key in the file");
    return keys;
}

/// Reads and parses a key file.
inline result<std::vector<tsig_key>> load_key_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(errc::key_file, path.string(), "cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_key_file(ss.str(), path.string());
}

/// The key called `name` (case-insensitive), or the only key if `name` is empty.
inline result<tsig_key> find_key(const std::vector<tsig_key>& keys, std::string_view name = {}) {
    if (name.empty()) {
        if (keys.size() == 1) return keys[0];
        return make_error(errc::key_file, "keys", std::to_string(keys.size()) + " keys: name the one to use");
    }
    for (const auto& k : keys)
        if (canonical_name(k.name) == canonical_name(name)) return k;
    return make_error(errc::key_file, "keys", "no key named '" + std::string(name) + "'");
}

}  // namespace dns
ROWCAST_NAMESPACE_END
