// rowcast/dns/errc.hpp: the named errors of the DNS component.
//
// Every DNS answer code, every TSIG error and every local failure of the DNS
// update client and sink is its own `dns::errc` value in the "rowcast.dns"
// error category, so a program can tell BADSIG from BADTIME from a timeout.
// Messages follow rowcast's format: "[rowcast.dns.<errc>] <where>: <what>",
// e.g. "[rowcast.dns.notauth_badsig] update of zone example.test: ...".
//
// Thread-safety: plain values; the category is an immutable singleton.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <string>
#include <string_view>
#include <system_error>

ROWCAST_NAMESPACE_BEGIN
namespace dns {

/// Values are stable (they travel in logs). 1-10: the server's RCODE; 16-18: TSIG errors.
enum class errc : int {
    formerr = 1,      ///< FORMERR: the server could not parse the request
    servfail = 2,     ///< SERVFAIL: server failure (e.g. zone not loaded, journal not writable)
    nxdomain = 3,     ///< prerequisite "name in use" failed: the name does not exist
    notimp = 4,       ///< NOTIMP: opcode not supported
    refused = 5,      ///< REFUSED: policy (no key, record type not granted)
    yxdomain = 6,     ///< prerequisite "name not in use" failed: the name exists
    yxrrset = 7,      ///< prerequisite "RRset does not exist" failed: it exists
    nxrrset = 8,      ///< prerequisite "RRset exists" failed: it does not
    notauth = 9,      ///< NOTAUTH: server not authoritative for the zone (zone not served)
    notzone = 10,     ///< NOTZONE: a name outside the zone in the request
    notauth_badsig = 16,   ///< NOTAUTH + TSIG BADSIG: wrong secret
    notauth_badkey = 17,   ///< NOTAUTH + TSIG BADKEY: unknown key name or algorithm
    notauth_badtime = 18,  ///< NOTAUTH + TSIG BADTIME: clocks differ by more than the fudge
    notauth_badtrunc = 22, ///< NOTAUTH + TSIG BADTRUNC
    other_rcode = 30,      ///< an RCODE not listed above (number in the message)
    timeout = 40,          ///< no valid reply after every try
    network,               ///< socket error (errno in the message)
    reply_malformed,       ///< the reply does not parse
    reply_id_mismatch,     ///< the reply's ID or question does not match the request (TCP)
    reply_unsigned,        ///< a signed request got a reply without TSIG (outcome unknown)
    reply_bad_mac,         ///< the reply's TSIG MAC does not verify (outcome unknown)
    reply_bad_key,         ///< the reply is signed with another key or algorithm
    reply_bad_time,        ///< the reply's signing time is outside the fudge
    key_file,              ///< a key file that does not parse or cannot be read
    invalid_name,          ///< a domain or host name that is not acceptable
    invalid_address,       ///< an address that is not IPv4/IPv6
    message_too_large,     ///< a message over 65535 bytes
    cname_conflict,        ///< a CNAME exists at a name that should get an address
    conflict,              ///< a prerequisite failed and the zone does not hold the target state
    bad_config,            ///< a sink/mapping configuration that cannot work
    bad_event,             ///< an event the mapping cannot use (missing column, wrong type)
};

/// Short stable name ("refused", "notauth_badsig", "timeout", …).
constexpr std::string_view to_string(errc e) noexcept {
    switch (e) {
        case errc::formerr: return "formerr";
        case errc::servfail: return "servfail";
        case errc::nxdomain: return "nxdomain";
        case errc::notimp: return "notimp";
        case errc::refused: return "refused";
        case errc::yxdomain: return "yxdomain";
        case errc::yxrrset: return "yxrrset";
        case errc::nxrrset: return "nxrrset";
        case errc::notauth: return "notauth";
        case errc::notzone: return "notzone";
        case errc::notauth_badsig: return "notauth_badsig";
        case errc::notauth_badkey: return "notauth_badkey";
        case errc::notauth_badtime: return "notauth_badtime";
        case errc::notauth_badtrunc: return "notauth_badtrunc";
        case errc::other_rcode: return "other_rcode";
        case errc::timeout: return "timeout";
        case errc::network: return "network";
        case errc::reply_malformed: return "reply_malformed";
        case errc::reply_id_mismatch: return "reply_id_mismatch";
        case errc::reply_unsigned: return "reply_unsigned";
        case errc::reply_bad_mac: return "reply_bad_mac";
        case errc::reply_bad_key: return "reply_bad_key";
        case errc::reply_bad_time: return "reply_bad_time";
        case errc::key_file: return "key_file";
        case errc::invalid_name: return "invalid_name";
        case errc::invalid_address: return "invalid_address";
        case errc::message_too_large: return "message_too_large";
        case errc::cname_conflict: return "cname_conflict";
        case errc::conflict: return "conflict";
        case errc::bad_config: return "bad_config";
        case errc::bad_event: return "bad_event";
    }
    return "unknown";
}

}  // namespace dns
namespace detail::dns {
using namespace ::rowcast::dns;  // the public dns types, unqualified
class dns_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "rowcast.dns"; }
    std::string message(int ev) const override { return std::string(to_string(static_cast<::rowcast::dns::errc>(ev))); }
    // rowcast::condition::transient: every DNS error except those about the event's or the
    // configuration's content (dns::is_transient below).
    bool equivalent(int ev, const std::error_condition& c) const noexcept override {
        if (c == make_error_condition(rowcast::condition::transient)) {
            switch (static_cast<::rowcast::dns::errc>(ev)) {
                case ::rowcast::dns::errc::invalid_name:
                case ::rowcast::dns::errc::invalid_address:
                case ::rowcast::dns::errc::bad_event:
                case ::rowcast::dns::errc::bad_config:
                case ::rowcast::dns::errc::message_too_large:
                    return false;
                default:
                    return true;
            }
        }
        return default_error_condition(ev) == c;
    }
};
}  // namespace detail::dns
namespace dns {

/// The "rowcast.dns" error category.
inline const std::error_category& error_category() noexcept {
    static const detail::dns::dns_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

/// "[rowcast.dns.<errc>] <where>: <what>".
inline rowcast::error make_error(errc e, std::string_view where, std::string_view what) {
    std::string m = "[rowcast.dns.";
    m += to_string(e);
    m += "] ";
    m += where;
    if (!where.empty()) m += ": ";
    m += what;
    return {make_error_code(e), std::move(m)};
}

/// True if `e` holds the DNS error `c`.
inline bool is(const rowcast::error& e, errc c) noexcept { return e.code == make_error_code(c); }

/// Errors that mean "the request was not applied because of the server or the
/// network, not because of its content": retry later, never drop the event.
/// For a DNS error this is rowcast::is_transient(e) (the category maps its codes to
/// rowcast::condition::transient); any other error counts as transient here, since the
/// sink only sees those from the network and the operating system.
inline bool is_transient(const rowcast::error& e) noexcept {
    if (e.code.category() != error_category()) return true;
    return rowcast::is_transient(e);
}

}  // namespace dns
ROWCAST_NAMESPACE_END

template <>
struct std::is_error_code_enum<rowcast::dns::errc> : std::true_type {};
