// rowcast/dns/client.hpp: a DNS update client (RFC 2136) signing with TSIG.
//
// `client` sends update_message's (and plain queries) to one server:
//  - each try gets a fresh random message ID set before signing;
//  - UDP when the signed request fits in 512 bytes, else TCP (2-byte length
//    prefix); a truncated (TC) UDP reply is retried over TCP;
//  - a UDP datagram whose ID does not match is ignored (keeps waiting); a TCP
//    reply with another ID is reply_id_mismatch;
//  - every reply of a signed request is verified (tsig_verify): ID, key,
//    algorithm, MAC, time within the fudge. Only a verified reply, or the
//    unsigned TSIG error forms RFC 8945 allows (BADSIG, BADKEY with an empty
//    MAC), is the server's answer. Anything else (no TSIG, a MAC that does not
//    verify, another key or algorithm, an unsigned BADTIME, a reply that does not
//    parse or is not a response) may be forged by anyone who can send a datagram:
//    it is ignored (counted in stats().forged), and the client keeps waiting for
//    the real reply within the same try (over TCP: the next message). A try that
//    ends without one fails with the last ignored reply's error (reply_unsigned,
//    reply_bad_mac, …; "ignored" in the message); a verified reply signed outside
//    the fudge (our clock is off) fails the try with reply_bad_time;
//  - `timeout` per try, `attempts` tries in all (a timeout, a network error or
//    a try without a valid reply is retried: updates are built to be
//    idempotent); server answers (REFUSED, NOTZONE, …) are returned at once;
//  - RCODEs map to named errors: dns::errc::refused, notzone, servfail,
//    yxdomain, yxrrset, nxdomain, nxrrset, notauth (TSIG error 0),
//    notauth_badsig/badkey/badtime, formerr, notimp, other_rcode; then
//    timeout, network, reply_*.
//
// Units: timeouts in milliseconds (std::chrono), TSIG times in seconds.
// Thread-safety: one thread at a time per client (it holds a random generator
// and counters); use one client per thread.
#pragma once

#include <rowcast/os/detail/fd.hpp>
#include <rowcast/dns/errc.hpp>
#include <rowcast/dns/key.hpp>
#include <rowcast/dns/message.hpp>
#include <rowcast/dns/tsig.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN
namespace dns {

struct client_options {
    std::string server = "127.0.0.1";  ///< IPv4 or IPv6 address literal
    std::uint16_t port = 53;
    std::optional<tsig_key> key;        ///< sign requests (and verify replies) when set
    std::chrono::milliseconds timeout{2000};  ///< per try
    unsigned attempts = 3;              ///< tries in all (>= 1)
    std::uint16_t fudge = 300;          ///< seconds
    std::size_t udp_limit = 512;        ///< larger requests go over TCP
    bool force_tcp = false;
    /// Added to the system clock for TSIG time (tests: simulate a skewed clock), seconds.
    std::int64_t clock_offset = 0;
};

/// Counters since construction.
struct client_stats {
    std::uint64_t requests = 0;   ///< send_update/query calls
    std::uint64_t tries = 0;      ///< messages sent
    std::uint64_t tcp = 0;        ///< of which over TCP
    std::uint64_t truncated = 0;  ///< TC replies (retried over TCP)
    std::uint64_t timeouts = 0;
    std::uint64_t stray = 0;      ///< UDP datagrams ignored (wrong ID)
    std::uint64_t forged = 0;     ///< replies ignored: unsigned or failing TSIG verification, unparseable, not a response

    /// The counters as rowcast metrics (rowcast/stats.hpp).
    template <class V>
    void visit(V&& v) const {
        using rowcast::detail::counter;
        v(counter("requests", requests, "updates and queries asked for"));
        v(counter("tries", tries, "messages sent"));
        v(counter("tcp", tcp, "messages sent over TCP"));
        v(counter("truncated", truncated, "truncated replies retried over TCP"));
        v(counter("timeouts", timeouts, "tries without a valid reply in time"));
        v(counter("stray", stray, "UDP datagrams ignored (wrong id)"));
        v(counter("forged", forged, "replies ignored as possibly forged (unsigned, failing TSIG verification, unparseable)"));
    }
};

/// Maps a reply RCODE (non-zero) to a named error.
inline rowcast::error rcode_error(std::uint8_t rcode, std::string_view where) {
    switch (rcode) {
        case 1: return make_error(errc::formerr, where, "server: FORMERR");
        case 2: return make_error(errc::servfail, where, "server: SERVFAIL");
        case 3: return make_error(errc::nxdomain, where, "server: NXDOMAIN (prerequisite: name not in use)");
        case 4: return make_error(errc::notimp, where, "server: NOTIMP");
        case 5: return make_error(errc::refused, where, "server: REFUSED (no key, or not allowed by update-policy)");
        case 6: return make_error(errc::yxdomain, where, "server: YXDOMAIN (prerequisite: name in use)");
        case 7: return make_error(errc::yxrrset, where, "server: YXRRSET (prerequisite: RRset exists)");
        case 8: return make_error(errc::nxrrset, where, "server: NXRRSET (prerequisite: RRset does not exist)");
        case 9: return make_error(errc::notauth, where, "server: NOTAUTH (zone not served here)");
        case 10: return make_error(errc::notzone, where, "server: NOTZONE (a name outside the zone)");
        default: return make_error(errc::other_rcode, where, "server: RCODE " + std::to_string(rcode));
    }
}

class client {
public:
    explicit client(client_options opt) : opt_(std::move(opt)), rng_(std::random_device{}()) {
        if (opt_.attempts == 0) opt_.attempts = 1;
    }

    const client_options& options() const noexcept { return opt_; }
    client_options& options() noexcept { return opt_; }
    const client_stats& stats() const noexcept { return stats_; }

    /// Sends an update; success means NOERROR and (if signed) a verified reply.
    result<parsed_message> send_update(const update_message& u) {
        ++stats_.requests;
        const std::string where = "update of zone " + canonical_name(u.zone());
        return exchange([&](std::uint16_t id) { return u.encode(id); }, where, true);
    }

    /// Queries name/type (signed when a key is set). NXDOMAIN/empty answers are results, not errors.
    result<parsed_message> query(std::string_view name, std::uint16_t type) {
        ++stats_.requests;
        const std::string where = "query " + std::string(name);
        return exchange([&](std::uint16_t id) { return encode_query(id, name, type); }, where, false);
    }

    /// The text of every answer record of `type` at `name` (addresses, target names without trailing dot).
    result<std::vector<std::string>> lookup(std::string_view name, std::uint16_t type) {
        auto r = query(name, type);
        if (!r) return r.error_value();
        std::vector<std::string> out;
        for (const auto& rr : r->answers)
            if (rr.type == type && canonical_name(rr.name) == canonical_name(name)) out.push_back(rr.text);
        return out;
    }

private:
    std::uint64_t now() const {
        const auto s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
        return static_cast<std::uint64_t>(s + opt_.clock_offset);
    }

    // What one received reply is: the answer (a message or the error to return), or ignored.
    struct reply_check {
        std::optional<result<parsed_message>> answer;  // empty: ignored, keep waiting
    };

    // Judges one reply to request `id` (signed with `mac` when a key is set).
    reply_check judge(const std::string& reply, std::uint16_t id, const std::string& mac, const std::string& where,
                      bool update, std::optional<rowcast::error>& ignored) {
        auto ignore = [&](rowcast::error e) {
            ++stats_.forged;
            ignored = std::move(e);
            return reply_check{};
        };
        auto p = parse_message(as_bytes(reply));
        if (!p) return ignore(make_error(errc::reply_malformed, where, p.error_value().message));
        if (p->id != id) return {make_error(errc::reply_id_mismatch, where, "reply ID differs from the request's")};
        if (!p->response()) return ignore(make_error(errc::reply_malformed, where, "the reply is not a response"));
        if (p->truncated()) return {std::move(*p)};  // retried over TCP, where the reply is verified
        if (opt_.key) {
            auto v = tsig_verify(as_bytes(reply), *p, mac, *opt_.key, now(), where);
            if (!v) {
                const auto& e = v.error_value();
                // The server's TSIG verdict (BADSIG/BADKEY may come unsigned, RFC 8945 §5.3.2;
                // BADTIME and BADTRUNC only signed, so verified here), or an authentic reply
                // signed outside the fudge (our clock is off): an answer.
                if (is(e, errc::notauth_badsig) || is(e, errc::notauth_badkey) || is(e, errc::notauth_badtime) ||
                    is(e, errc::notauth_badtrunc) || is(e, errc::reply_bad_time) || is(e, errc::other_rcode))
                    return {e};
                // Anything else proves nothing: anyone who can send a datagram may have made it.
                std::string m = e.message;
                if (p->rcode() != 0) m += " (RCODE " + std::to_string(p->rcode()) + ")";
                return ignore({e.code, m + "; ignored as possibly forged"});
            }
        }
        if (p->rcode() != 0 && !(p->rcode() == 3 && !update)) return {rcode_error(p->rcode(), where)};
        return {std::move(*p)};
    }

    template <class Encode>
    result<parsed_message> exchange(Encode&& encode, const std::string& where, bool update) {
        std::optional<rowcast::error> last;
        for (unsigned attempt = 0; attempt < opt_.attempts; ++attempt) {
            const auto id = static_cast<std::uint16_t>(rng_());
            auto wire = encode(id);
            if (!wire) return wire.error_value();
            std::string mac;
            if (opt_.key) {
                auto m = tsig_sign(*wire, *opt_.key, now(), opt_.fudge);
                if (!m) return m.error_value();
                mac = std::move(*m);
            }
            std::optional<rowcast::error> ignored;  // the last reply of this try ignored as forged
            std::optional<result<parsed_message>> answer;
            auto take = [&](const std::string& reply) {
                answer = judge(reply, id, mac, where, update, ignored).answer;
                return answer.has_value();
            };
            bool tcp = opt_.force_tcp || wire->size() > opt_.udp_limit;
            result<void> io = tcp ? tcp_exchange(*wire, take, where) : udp_exchange(*wire, id, take, where);
            if (io && !tcp && *answer && (*answer)->truncated()) {
                ++stats_.truncated;
                tcp = true;
                answer.reset();
                io = tcp_exchange(*wire, take, where);
            }
            if (!io) {
                // timeout / network: retry. A try that only saw forged replies says so.
                if (ignored && is(io.error_value(), errc::timeout))
                    last = rowcast::error{ignored->code, ignored->message + " (and no valid reply: " + io.error_value().message + ")"};
                else
                    last = io.error_value();
                continue;
            }
            if (!*answer) {
                const auto& e = answer->error_value();
                if (is(e, errc::reply_bad_time)) {  // authentic, but our clock is off: the same idempotent message again
                    last = e;
                    continue;
                }
                return e;
            }
            return std::move(**answer);
        }
        return last ? *last : make_error(errc::timeout, where, "no reply");
    }

    static std::span<const std::uint8_t> as_bytes(const std::string& s) {
        return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
    }

    result<void> make_addr(sockaddr_storage& ss, socklen_t& len, const std::string& where) const {
        std::memset(&ss, 0, sizeof ss);
        auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
        if (::inet_pton(AF_INET, opt_.server.c_str(), &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons(opt_.port);
            len = sizeof(sockaddr_in);
            return {};
        }
        if (::inet_pton(AF_INET6, opt_.server.c_str(), &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons(opt_.port);
            len = sizeof(sockaddr_in6);
            return {};
        }
        return make_error(errc::invalid_address, where, "server '" + opt_.server + "' is not an IP address");
    }

    // Waits for `events` on fd until deadline. Returns 1 ready, 0 timeout, -errno.
    static int wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return 0;
            pollfd p{fd, events, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return -errno;
            if (r == 0) return 0;
            return 1;
        }
    }

    // Sends `wire` and passes each datagram with the request's ID to take() until it returns
    // true (an answer) or the try's timeout passes.
    template <class Take>
    result<void> udp_exchange(const std::string& wire, std::uint16_t id, Take&& take, const std::string& where) {
        ++stats_.tries;
        sockaddr_storage ss{};
        socklen_t len = 0;
        if (auto r = make_addr(ss, len, where); !r) return r;
        rowcast::detail::unique_fd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!fd) return make_error(errc::network, where, std::string("socket: ") + std::strerror(errno));
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
            return make_error(errc::network, where, std::string("connect: ") + std::strerror(errno));
        if (::send(fd.get(), wire.data(), wire.size(), 0) != static_cast<ssize_t>(wire.size()))
            return make_error(errc::network, where, std::string("send: ") + std::strerror(errno));
        const auto deadline = std::chrono::steady_clock::now() + opt_.timeout;
        std::string reply(65535, '\0');
        for (;;) {
            const int w = wait_fd(fd.get(), POLLIN, deadline);
            if (w == 0) {
                ++stats_.timeouts;
                return make_error(errc::timeout, where, "no reply within " + std::to_string(opt_.timeout.count()) + " ms");
            }
            if (w < 0) return make_error(errc::network, where, std::string("poll: ") + std::strerror(-w));
            const ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                return make_error(errc::network, where, std::string("recv: ") + std::strerror(errno));
            }
            if (n < 2 || ((static_cast<unsigned char>(reply[0]) << 8) | static_cast<unsigned char>(reply[1])) != id) {
                ++stats_.stray;
                continue;
            }
            const std::string got(reply.data(), static_cast<std::size_t>(n));
            if (take(got)) return {};
        }
    }

    // Sends `wire` over a new TCP connection and passes each length-prefixed reply to take()
    // until it returns true or the try's timeout passes.
    template <class Take>
    result<void> tcp_exchange(const std::string& wire, Take&& take, const std::string& where) {
        ++stats_.tries;
        ++stats_.tcp;
        sockaddr_storage ss{};
        socklen_t len = 0;
        if (auto r = make_addr(ss, len, where); !r) return r;
        rowcast::detail::unique_fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd) return make_error(errc::network, where, std::string("socket: ") + std::strerror(errno));
        const auto deadline = std::chrono::steady_clock::now() + opt_.timeout;
        auto timed_out = [&] {
            ++stats_.timeouts;
            return make_error(errc::timeout, where, "TCP exchange not done within " + std::to_string(opt_.timeout.count()) + " ms");
        };
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
            if (errno != EINPROGRESS) return make_error(errc::network, where, std::string("connect: ") + std::strerror(errno));
            const int w = wait_fd(fd.get(), POLLOUT, deadline);
            if (w == 0) return timed_out();
            int err = 0;
            socklen_t el = sizeof err;
            ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el);
            if (w < 0 || err != 0)
                return make_error(errc::network, where, std::string("connect: ") + std::strerror(w < 0 ? -w : err));
        }
        std::string out;
        detail::dns::put16(out, static_cast<std::uint16_t>(wire.size()));
        out += wire;
        for (std::size_t sent = 0; sent < out.size();) {
            const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) {
                    const int w = wait_fd(fd.get(), POLLOUT, deadline);
                    if (w == 0) return timed_out();
                    if (w < 0) return make_error(errc::network, where, std::string("poll: ") + std::strerror(-w));
                    continue;
                }
                return make_error(errc::network, where, std::string("send: ") + std::strerror(errno));
            }
            sent += static_cast<std::size_t>(n);
        }
        char buf[4096];
        for (;;) {
            std::string in;
            std::size_t need = 2;
            bool have_len = false;
            while (in.size() < need) {
                const int w = wait_fd(fd.get(), POLLIN, deadline);
                if (w == 0) return timed_out();
                if (w < 0) return make_error(errc::network, where, std::string("poll: ") + std::strerror(-w));
                const ssize_t n = ::recv(fd.get(), buf, std::min(sizeof buf, need - in.size()), 0);
                if (n < 0) {
                    if (errno == EINTR || errno == EAGAIN) continue;
                    return make_error(errc::network, where, std::string("recv: ") + std::strerror(errno));
                }
                if (n == 0) return make_error(errc::network, where, "the server closed the TCP connection");
                in.append(buf, static_cast<std::size_t>(n));
                if (!have_len && in.size() == 2) {
                    need = 2 + ((static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1]));
                    have_len = true;
                }
            }
            if (take(in.substr(2))) return {};
        }
    }

    client_options opt_;
    std::mt19937 rng_;
    client_stats stats_;
};

}  // namespace dns
ROWCAST_NAMESPACE_END
