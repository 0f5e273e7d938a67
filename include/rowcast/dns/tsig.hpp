// rowcast/dns/tsig.hpp: TSIG (RFC 8945) signing of requests and verification
// of replies, HMAC through OpenSSL's libcrypto (one-shot HMAC(), no state kept).
//
// - tsig_sign(msg, key, time_signed, fudge) appends the TSIG record to a wire
//   message (its ID already set) and increments ARCOUNT; returns the MAC, which
//   the reply's verification needs. Time in seconds since the Unix epoch.
// - tsig_verify(reply, parsed, request, key, now, fudge) checks a parsed reply:
//   TSIG present, key name and algorithm equal to ours, MAC (over the request
//   MAC, the reply with its original ID and ARCOUNT-1, and the TSIG variables),
//   and time within the fudge. Unsigned BADSIG/BADKEY replies are reported as
//   the server's TSIG error (they cannot be authenticated, as RFC 8945 says).
//
// Errors (dns::errc): notauth_badsig, notauth_badkey, notauth_badtime,
// notauth_badtrunc (the server's TSIG error), reply_unsigned, reply_bad_mac,
// reply_bad_key, reply_bad_time. Thread-safety: pure functions.
#pragma once

#include <rowcast/dns/errc.hpp>
#include <rowcast/dns/key.hpp>
#include <rowcast/dns/message.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

ROWCAST_NAMESPACE_BEGIN
namespace dns {

/// TSIG error codes carried in the TSIG record.
namespace tsig_error {
inline constexpr std::uint16_t none = 0, badsig = 16, badkey = 17, badtime = 18, badtrunc = 22;
}

}  // namespace dns
namespace detail::dns {
using namespace ::rowcast::dns;  // the public dns types, unqualified
inline const EVP_MD* evp_of(tsig_algorithm a) noexcept {
    switch (a) {
        case tsig_algorithm::hmac_sha1: return EVP_sha1();
        case tsig_algorithm::hmac_sha224: return EVP_sha224();
        case tsig_algorithm::hmac_sha256: return EVP_sha256();
        case tsig_algorithm::hmac_sha384: return EVP_sha384();
        case tsig_algorithm::hmac_sha512: return EVP_sha512();
    }
    return EVP_sha256();
}

inline std::string hmac(const tsig_key& key, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(evp_of(key.algorithm), key.secret.data(), static_cast<int>(key.secret.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len))
        return {};
    return std::string(reinterpret_cast<const char*>(md), len);
}

// TSIG variables (RFC 8945 §4.3.3): key name, class ANY, TTL 0, algorithm, time, fudge, error, other.
inline void put_variables(std::string& o, const tsig_key& key, std::uint64_t time_signed, std::uint16_t fudge,
                          std::uint16_t error, std::string_view other) {
    (void)encode_name(key.name, o, true);
    put16(o, rr_class::any);
    put32(o, 0);
    (void)encode_name(to_string(key.algorithm), o, true);
    put16(o, static_cast<std::uint16_t>(time_signed >> 32));
    put32(o, static_cast<std::uint32_t>(time_signed & 0xffffffffu));
    put16(o, fudge);
    put16(o, error);
    put16(o, static_cast<std::uint16_t>(other.size()));
    o += other;
}
}  // namespace detail::dns
namespace dns {

/// Signs `msg` in place (appends TSIG, ARCOUNT+1). Returns the MAC.
/// Errors: invalid_name (bad key name), message_too_large.
inline result<std::string> tsig_sign(std::string& msg, const tsig_key& key, std::uint64_t time_signed,
                                     std::uint16_t fudge = 300) {
    if (msg.size() < 12) return make_error(errc::reply_malformed, "tsig_sign", "message shorter than a header");
    std::string buf = msg;
    if (auto r = rdata::name(key.name); !r) return r.error_value();
    detail::dns::put_variables(buf, key, time_signed, fudge, 0, {});
    std::string mac = detail::dns::hmac(key, buf);
    if (mac.empty()) return make_error(errc::key_file, "tsig_sign", "HMAC failed");
    const std::uint16_t id = static_cast<std::uint16_t>((static_cast<unsigned char>(msg[0]) << 8) |
                                                        static_cast<unsigned char>(msg[1]));
    std::string rr;
    (void)encode_name(key.name, rr, true);
    detail::dns::put16(rr, rr_type::tsig);
    detail::dns::put16(rr, rr_class::any);
    detail::dns::put32(rr, 0);
    std::string rd;
    (void)encode_name(to_string(key.algorithm), rd, true);
    detail::dns::put16(rd, static_cast<std::uint16_t>(time_signed >> 32));
    detail::dns::put32(rd, static_cast<std::uint32_t>(time_signed & 0xffffffffu));
    detail::dns::put16(rd, fudge);
    detail::dns::put16(rd, static_cast<std::uint16_t>(mac.size()));
    rd += mac;
    detail::dns::put16(rd, id);
    detail::dns::put16(rd, 0);
    detail::dns::put16(rd, 0);
    detail::dns::put16(rr, static_cast<std::uint16_t>(rd.size()));
    rr += rd;
    if (msg.size() + rr.size() > 65535) return make_error(errc::message_too_large, "tsig_sign", "signed message over 65535 bytes");
    msg += rr;
    const auto ar = static_cast<std::uint16_t>(((static_cast<unsigned char>(msg[10]) << 8) |
                                                static_cast<unsigned char>(msg[11])) + 1);
    detail::dns::set16(msg, 10, ar);
    return mac;
}

/// Verifies a reply. `wire` is the reply as received, `m` its parse, `request_mac`
/// the MAC returned by tsig_sign for the request, `now` seconds since the epoch.
inline result<void> tsig_verify(std::span<const std::uint8_t> wire, const parsed_message& m,
                                std::string_view request_mac, const tsig_key& key, std::uint64_t now,
                                std::string_view where = "reply") {
    if (!m.tsig) return make_error(errc::reply_unsigned, where, "the reply carries no TSIG record (outcome unknown)");
    const parsed_tsig& t = *m.tsig;
    if (t.error == tsig_error::badsig && t.mac.empty())
        return make_error(errc::notauth_badsig, where, "server: TSIG BADSIG (wrong secret for key '" + key.name + "')");
    if (t.error == tsig_error::badkey && t.mac.empty())
        return make_error(errc::notauth_badkey, where,
                          "server: TSIG BADKEY (key '" + key.name + "' with " + std::string(to_string(key.algorithm)) +
                              " unknown to the server)");
    if (t.key_name != canonical_name(key.name))
        return make_error(errc::reply_bad_key, where, "reply signed with key '" + t.key_name + "'");
    if (t.algorithm != to_string(key.algorithm))
        return make_error(errc::reply_bad_key, where, "reply signed with algorithm '" + t.algorithm + "'");
    // Digest: request MAC (length-prefixed), reply with original ID and ARCOUNT-1, TSIG variables.
    std::string buf;
    buf.reserve(wire.size() + request_mac.size() + 64);
    detail::dns::put16(buf, static_cast<std::uint16_t>(request_mac.size()));
    buf += request_mac;
    const std::size_t msg_at = buf.size();
    buf.append(reinterpret_cast<const char*>(wire.data()), t.offset);
    detail::dns::set16(buf, msg_at, t.original_id);
    detail::dns::set16(buf, msg_at + 10, static_cast<std::uint16_t>(m.arcount - 1));
    // Variables with the reply's own values.
    std::string vars;
    (void)encode_name(t.key_name, vars, true);
    detail::dns::put16(vars, rr_class::any);
    detail::dns::put32(vars, 0);
    (void)encode_name(t.algorithm, vars, true);
    detail::dns::put16(vars, static_cast<std::uint16_t>(t.time_signed >> 32));
    detail::dns::put32(vars, static_cast<std::uint32_t>(t.time_signed & 0xffffffffu));
    detail::dns::put16(vars, t.fudge);
    detail::dns::put16(vars, t.error);
    detail::dns::put16(vars, static_cast<std::uint16_t>(t.other.size()));
    vars += t.other;
    buf += vars;
    const std::string mac = detail::dns::hmac(key, buf);
    if (mac.empty() || t.mac.size() != mac.size() || CRYPTO_memcmp(mac.data(), t.mac.data(), mac.size()) != 0)
        return make_error(errc::reply_bad_mac, where, "the reply's TSIG MAC does not verify (outcome unknown)");
    if (t.error == tsig_error::badtime) {
        std::string server_time = "?";
        if (t.other.size() == 6) {
            std::uint64_t st = 0;
            for (unsigned char c : t.other) st = (st << 8) | c;
            server_time = std::to_string(st);
        }
        return make_error(errc::notauth_badtime, where,
                          "server: TSIG BADTIME (our time " + std::to_string(t.time_signed) + ", server time " +
                              server_time + ", fudge " + std::to_string(t.fudge) + " s)");
    }
    if (t.error == tsig_error::badsig) return make_error(errc::notauth_badsig, where, "server: TSIG BADSIG");
    if (t.error == tsig_error::badkey) return make_error(errc::notauth_badkey, where, "server: TSIG BADKEY");
    if (t.error == tsig_error::badtrunc) return make_error(errc::notauth_badtrunc, where, "server: TSIG BADTRUNC");
    if (t.error != 0) return make_error(errc::other_rcode, where, "server: TSIG error " + std::to_string(t.error));
    const std::uint64_t diff = now > t.time_signed ? now - t.time_signed : t.time_signed - now;
    if (diff > t.fudge)
        return make_error(errc::reply_bad_time, where,
                          "reply signed at " + std::to_string(t.time_signed) + ", " + std::to_string(diff) +
                              " s from our clock (fudge " + std::to_string(t.fudge) + " s)");
    return {};
}

}  // namespace dns
ROWCAST_NAMESPACE_END
