// Internal: subjects (escaping, the template, wildcard matching), the message id
// and the header values of an event (see docs/nats.md for the forms).
#pragma once

#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <string>
#include <string_view>
#include <variant>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::nats {

/// Appends `name` as one NATS subject token: bytes other than [A-Za-z0-9_] become
/// %XX (upper-case hex); an empty name becomes "-" (no escaped name can be "-").
inline void append_token(std::string& out, std::string_view name) {
    if (name.empty()) {
        out += '-';
        return;
    }
    for (unsigned char c : name) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += rowcast::detail::hex_upper[c >> 4];
            out += rowcast::detail::hex_upper[c & 15];
        }
    }
}

/// The inverse of append_token(); false if `token` is not one it writes.
inline bool parse_token(std::string_view token, std::string& out) {
    out.clear();
    if (token == "-") return true;
    if (token.empty()) return false;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] != '%') {
            out += token[i];
            continue;
        }
        if (i + 2 >= token.size()) return false;
        const int h = hex(token[i + 1]), l = hex(token[i + 2]);
        if (h < 0 || l < 0) return false;
        out += static_cast<char>(h * 16 + l);
        i += 2;
    }
    return true;
}

/// A subject template: literal tokens and the placeholders <schema> and <table>, each a
/// whole token ("rowcast.<schema>.<table>", "cdc.db1.<table>").
struct subject_template {
    enum class part { literal, schema, table };
    std::vector<std::pair<part, std::string>> tokens;

    static result<subject_template> parse(std::string_view t) {
        subject_template st;
        auto bad = [&](std::string_view what) {
            return error::make(errc::invalid_value, "nats", "subject template '" + std::string(t) + "'", what);
        };
        if (t.empty()) return bad("is empty");
        std::size_t pos = 0;
        while (pos <= t.size()) {
            const std::size_t dot = std::min(t.find('.', pos), t.size());
            const std::string_view tok = t.substr(pos, dot - pos);
            if (tok.empty()) return bad("has an empty token");
            if (tok == "<schema>") st.tokens.emplace_back(part::schema, "");
            else if (tok == "<table>") st.tokens.emplace_back(part::table, "");
            else if (tok.find_first_of("<>* \t\r\n") != std::string_view::npos)
                return bad("token '" + std::string(tok) + "' is neither literal nor <schema>/<table>");
            else st.tokens.emplace_back(part::literal, std::string(tok));
            pos = dot + 1;
        }
        return st;
    }

    /// The subject of one event.
    void expand(std::string_view schema, std::string_view table, std::string& out) const {
        out.clear();
        for (const auto& [p, lit] : tokens) {
            if (!out.empty()) out += '.';
            if (p == part::literal) out += lit;
            else append_token(out, p == part::schema ? schema : table);
        }
    }

    /// The subject filter that covers every expansion ("rowcast.*.*").
    std::string filter() const {
        std::string out;
        for (const auto& [p, lit] : tokens) {
            if (!out.empty()) out += '.';
            out += p == part::literal ? std::string_view(lit) : std::string_view("*");
        }
        return out;
    }
};

/// NATS wildcard matching: `filter` tokens '*' (one token) and a final '>' (one or more).
inline bool subject_matches(std::string_view filter, std::string_view subject) {
    std::size_t fp = 0, sp = 0;
    for (;;) {
        const std::size_t fe = std::min(filter.find('.', fp), filter.size());
        const std::size_t se = std::min(subject.find('.', sp), subject.size());
        const std::string_view ft = filter.substr(fp, fe - fp);
        if (sp > subject.size()) return false;
        const std::string_view st = subject.substr(sp, se - sp);
        if (ft == ">") return !st.empty();
        if (ft != "*" && ft != st) return false;
        const bool fend = fe == filter.size(), send = se == subject.size();
        if (fend || send) return fend && send;
        fp = fe + 1;
        sp = se + 1;
    }
}

/// The Nats-Msg-Id of an event: "<origin>|<file>:<offset>|<kind>|<row>" with the binlog
/// position, else "<origin>|<transaction id>|<kind>|<row>"; unique per event of a source
/// and the same every time the source delivers that event again. Refused when the event
/// carries neither (nothing would tell a re-publish from a new event).
inline result<std::string> msg_id(const event& e, std::string_view origin) {
    std::string id(origin);
    id += '|';
    if (!e.source.file.empty()) {
        id += e.source.file;
        id += ':';
        rowcast::detail::append_number(id, e.source.offset);
    } else if (!e.transaction.id.empty()) {
        id += e.transaction.id;
    } else {
        return error::make(errc::missing_field, "nats", "event " + std::to_string(e.sequence),
                           "no source position and no transaction id: no message id can be derived "
                           "(de-duplication after a restart needs one)");
    }
    id += '|';
    id += to_string(e.kind);
    id += '|';
    rowcast::detail::append_number(id, e.transaction.position);
    return id;
}

/// Appends `s` with '%', ',', '=' and bytes outside 0x20-0x7e as %XX (a header value).
inline void append_header_text(std::string& out, std::string_view s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c > 0x7e || c == '%' || c == ',' || c == '=') {
            out += '%';
            out += rowcast::detail::hex_upper[c >> 4];
            out += rowcast::detail::hex_upper[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
}

/// A key column's value as header text (NULL: "NULL"; kinds without a plain text form: "<kind>").
inline void append_key_value(std::string& out, const value& v) {
    namespace t = rowcast::detail;
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) t::append_number(out, x);
            else if constexpr (std::is_same_v<T, null_value>) out += "NULL";
            else if constexpr (std::is_same_v<T, text>) append_header_text(out, x.utf8);
            else if constexpr (std::is_same_v<T, decimal>) out += x.digits;
            else if constexpr (std::is_same_v<T, bytes>) {
                std::string b64;
                t::append_base64(b64, x.data);
                out += "base64:";
                append_header_text(out, b64);
            } else if constexpr (std::is_same_v<T, date>) t::append_date(out, x);
            else if constexpr (std::is_same_v<T, datetime>) t::append_datetime(out, x);
            else if constexpr (std::is_same_v<T, rowcast::time>) t::append_time(out, x);
            else if constexpr (std::is_same_v<T, year>) t::append_number(out, x.value);
            else if constexpr (std::is_same_v<T, enum_value>) append_header_text(out, x.name);
            else {
                out += '<';
                out += to_string(v.kind());
                out += '>';
            }
        },
        v.as_variant());
}

/// "col=value,col2=value" over the primary-key columns of the row's image (after for
/// inserts and updates, before for deletes); empty for events without a key.
inline std::string key_header(const event& e) {
    std::string out;
    if (!e.columns || !is_row_event(e.kind)) return out;
    const auto& img = e.kind == event_kind::delete_ ? e.before : e.after;
    for (std::size_t i = 0; i < e.columns->size() && i < img.size(); ++i) {
        const column& c = (*e.columns)[i];
        if (!c.primary_key) continue;
        if (!out.empty()) out += ',';
        append_header_text(out, c.name);
        out += '=';
        append_key_value(out, img[i]);
    }
    return out;
}

/// "<file>:<offset>" and, when known, " gtid=<gtid>"; empty when the event has neither.
inline std::string position_header(const event& e) {
    std::string out;
    if (!e.source.file.empty()) {
        append_header_text(out, e.source.file);
        out += ':';
        rowcast::detail::append_number(out, e.source.offset);
    }
    if (!e.source.gtid.empty()) {
        out += out.empty() ? "gtid=" : " gtid=";
        append_header_text(out, e.source.gtid);
    }
    return out;
}

}  // namespace detail::nats
ROWCAST_NAMESPACE_END
