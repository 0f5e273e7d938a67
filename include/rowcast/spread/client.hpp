// rowcast/spread/client.hpp: a client of the Spread 4.x/5.x daemon (group communication:
// ordered, reliable multicast between daemons), speaking the client-daemon protocol
// itself (no libspread; Spread is not packaged in Debian). docs/spread.md.
//
//   rowcast::spread::client_options o;
//   o.host = "10.0.0.5";            // or o.unix_socket = "/tmp/4803"
//   o.name = "dnsupd";              // private name: 0..10 bytes in '$'..'~' (empty: the daemon picks)
//   auto c = rowcast::spread::client::connect(o).value();
//   c.join("rowcast.shop.items").value();
//   c.multicast(rowcast::spread::service::agreed, "rowcast.shop.items", 1, bytes).value();
//   while (auto m = c.receive().value()) { ... }      // non-blocking; poll c.native_handle()
//
// connect(): TCP (TCP_NODELAY, SO_KEEPALIVE) or the daemon's Unix socket; the handshake
// claims library version 5.0.1 and uses the NULL authentication method; the daemon's reply
// is checked byte by byte (reject codes, method list, version, private group length < 32).
// The whole of connect() is bounded by connect_timeout (name resolution excepted: getaddrinfo
// blocks). Sends (join, leave, multicast) block until the bytes are in the socket, at most
// send_timeout; receive() never blocks. Every daemon message is checked before it is
// used (detail/wire.hpp: endianness markers, num_groups <= 100, data_len <= 144000, names
// NUL-terminated within 32 bytes, known message kinds, membership bodies): a violation drops
// the connection (a stream with a bad header cannot be resynchronised) and is returned.
//
// Size cap: multicast() refuses (errc::limit_exceeded, nothing sent) a message whose data +
// 32 bytes per destination group exceeds 143,152 bytes: a 5.0.1 daemon crashes on
// 143,153..143,952 (docs/spread.md). Larger payloads are the caller's to fragment
// (spread::producer does).
//
// Lost connection and reconnection: an I/O error, EOF, a send time-out or a protocol
// violation closes the connection and returns errc::unavailable (transient) or the
// violation's code. With auto_reconnect (default) the next call after the backoff
// (options.reconnect, rowcast/backoff.hpp) connects again and re-joins the groups joined
// so far; until then calls return unavailable and next_timeout() says when to call again.
// Spread keeps no history: what was sent to the groups while disconnected is not delivered.
//
// Errors: [rowcast.spread.<errc>] … : invalid_value (bad names, service, sizes: nothing sent),
// limit_exceeded (size cap), refused (the daemon rejected the name, version or authentication:
// permanent), unavailable (connect failed, connection lost, not unique name while an old
// session lingers, quota: transient), and the decoder's codes for bad daemon messages.
//
// Thread-safety: one thread at a time; stats() too.
#pragma once

#include <rowcast/backoff.hpp>
#include <rowcast/error.hpp>
#include <rowcast/log.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/spread/detail/wire.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN
namespace spread {

/// The six service types of a multicast (one per message). Guarantees: docs/spread.md.
enum class service : std::uint32_t {
    unreliable = 0x01,  ///< may be lost or reordered (the daemon carries it as reliable)
    reliable = 0x02,    ///< delivered, no order
    fifo = 0x04,        ///< per-sender order
    causal = 0x08,      ///< causal order (implemented as agreed by the daemon)
    agreed = 0x10,      ///< one total order at every member
    safe = 0x20,        ///< total order, delivered once every daemon has it
};

/// "unreliable", "reliable", "fifo", "causal", "agreed", "safe".
constexpr std::string_view to_string(service s) noexcept {
    switch (s) {
        case service::unreliable: return "unreliable";
        case service::reliable: return "reliable";
        case service::fifo: return "fifo";
        case service::causal: return "causal";
        case service::agreed: return "agreed";
        case service::safe: return "safe";
    }
    return "unknown";
}

/// Parses a service name (as to_string() spells it).
inline result<service> parse_service(std::string_view n) {
    for (service s : {service::unreliable, service::reliable, service::fifo, service::causal, service::agreed, service::safe})
        if (to_string(s) == n) return s;
    return error::make(errc::invalid_value, "spread", "service",
                       "unknown service '" + std::string(n) + "' (accepted: unreliable, reliable, fifo, causal, agreed, safe)");
}

struct client_options {
    std::string host = "127.0.0.1";  ///< the daemon's host (name, IPv4 or IPv6); unused with unix_socket
    std::uint16_t port = 4803;       ///< the daemon's client port
    std::string unix_socket;         ///< non-empty: connect to this Unix socket (a daemon's default: /tmp/4803)
    std::string name;                ///< private name, 0..10 bytes in '$'..'~'; unique per daemon; empty: the daemon picks
    bool membership = true;          ///< receive membership messages
    std::chrono::milliseconds connect_timeout{5000};  ///< the whole connect + handshake
    std::chrono::milliseconds send_timeout{5000};     ///< longest block of one send
    bool auto_reconnect = true;      ///< reconnect (and re-join) after a lost connection
    backoff_policy reconnect{.initial = std::chrono::milliseconds(100), .max = std::chrono::milliseconds(10000), .jitter = 0.2};
    log_sink log;                    ///< default: rowcast::log (component "spread")
};

using group_id = rowcast::detail::spread::group_id;

/// What a received message is.
enum class message_kind {
    regular,       ///< data sent by a member (or anyone) to groups this client is in, or to it
    membership,    ///< a group's new member list (cause: join, leave, disconnect or network)
    transitional,  ///< ordering guarantees are reduced until the next membership message of the group
    self_leave,    ///< this client left the group (the last message of that group)
    reject,        ///< the daemon refused a message of this client (access control, group full)
};

/// One message from the daemon (owning).
struct message {
    message_kind kind = message_kind::regular;
    std::uint32_t type = 0;            ///< raw service/cause bits (endianness marker removed)
    std::string sender;                ///< regular/reject: the sender's private group; else the group concerned
    std::vector<std::string> groups;   ///< regular: the destination groups; membership: the members (daemon order)
    std::int16_t mess_type = 0;        ///< regular: the sender's message type
    bool endian_mismatch = false;      ///< the sender's byte order differs from little endian
    std::string data;                  ///< regular/reject: the data
    group_id gid;                      ///< membership/transitional: the group's view id
    std::vector<std::vector<std::string>> vs_sets;  ///< membership: who was together before the change
    std::size_t local_vs_set = 0;      ///< membership: this client's vs-set in vs_sets

    /// regular: the service it was sent with.
    service svc() const noexcept { return static_cast<service>(type & rowcast::detail::spread::regular_mask); }
    bool caused_by_join() const noexcept { return type & rowcast::detail::spread::caused_by_join; }
    bool caused_by_leave() const noexcept { return type & rowcast::detail::spread::caused_by_leave; }
    bool caused_by_disconnect() const noexcept { return type & rowcast::detail::spread::caused_by_disconnect; }
    bool caused_by_network() const noexcept { return type & rowcast::detail::spread::caused_by_network; }
    /// membership, join/leave/disconnect: the member that joined, left or disconnected.
    std::string_view changed_member() const noexcept {
        return vs_sets.size() == 1 && vs_sets[0].size() == 1 ? std::string_view(vs_sets[0][0]) : std::string_view();
    }
};

struct client_stats {
    std::uint64_t sent = 0;            ///< multicasts sent
    std::uint64_t received = 0;        ///< messages received (all kinds)
    std::uint64_t bytes_sent = 0;      ///< wire bytes sent
    std::uint64_t bytes_received = 0;  ///< wire bytes received
    std::uint64_t connects = 0;        ///< successful connects (the first one included)
    std::uint64_t disconnects = 0;     ///< connections lost
    std::uint64_t protocol_errors = 0; ///< daemon messages refused by the decoder
    std::int64_t connected = 0;        ///< gauge: 1 while connected

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("sent", sent, "messages multicast"));
        v(detail::counter("received", received, "messages received"));
        v(detail::counter("bytes_sent", bytes_sent, "bytes written to the daemon"));
        v(detail::counter("bytes_received", bytes_received, "bytes read from the daemon"));
        v(detail::counter("connects", connects, "successful connects"));
        v(detail::counter("disconnects", disconnects, "connections lost"));
        v(detail::counter("protocol_errors", protocol_errors, "daemon messages refused"));
        v(detail::gauge("connected", connected, "1 while connected to the daemon"));
    }
};

class client {
public:
    /// Connects and authenticates (see the top of this header). A failure is returned as it
    /// is (no retry here; auto_reconnect applies to connections lost later).
    static result<client> connect(client_options o) {
        if (auto why = rowcast::detail::spread::check_private_name(o.name); !why.empty())
            return error::make(errc::invalid_value, "spread", "private name '" + o.name + "'", why);
        client c(std::move(o));
        if (auto r = c.open(); !r) return r.error_value();
        return c;
    }

    client(client&&) noexcept = default;
    client& operator=(client&&) noexcept = default;
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    ~client() { disconnect(); }

    /// Joins `group` (1..31 bytes in '$'..'~', no '#'). Joining twice is harmless. The
    /// group is re-joined after a reconnect.
    result<void> join(std::string_view group) {
        if (auto r = check(group, false); !r) return r;
        if (std::find(joined_.begin(), joined_.end(), group) == joined_.end()) joined_.emplace_back(group);
        return control(rowcast::detail::spread::join_mess, group);
    }

    /// Leaves `group` (the daemon ignores leaving a group not joined).
    result<void> leave(std::string_view group) {
        if (auto r = check(group, false); !r) return r;
        std::erase(joined_, group);
        return control(rowcast::detail::spread::leave_mess, group);
    }

    /// Sends `data` to 1..100 groups (normal groups or private groups "#name#daemon") with
    /// `svc` and the message type `mess_type`. `self_discard`: not delivered back to this
    /// client. Refused before sending: bad names, no or > 100 groups, the size cap.
    result<void> multicast(service svc, std::span<const std::string_view> groups, std::int16_t mess_type,
                           std::string_view data, bool self_discard = false) {
        namespace d = rowcast::detail::spread;
        const auto s = static_cast<std::uint32_t>(svc);
        if (s == 0 || (s & (s - 1)) || (s & ~d::regular_mask))
            return error::make(errc::invalid_value, "spread", "multicast", "service " + std::to_string(s) + " is not one of the six");
        if (groups.empty() || groups.size() > d::max_groups)
            return error::make(errc::invalid_value, "spread", "multicast",
                               std::to_string(groups.size()) + " destination groups (1..100)");
        for (auto g : groups)
            if (auto r = check(g, true); !r) return r;
        const std::size_t size = data.size() + d::name_slot * groups.size();
        if (size > d::safe_capacity)
            return error::make(errc::limit_exceeded, "spread", "multicast to " + std::string(groups[0]),
                               std::to_string(data.size()) + " data bytes + 32 per group = " + std::to_string(size) +
                                   " bytes exceeds the daemon's safe capacity of 143152 (a 5.0.1 daemon crashes above it; "
                                   "fragment the payload)");
        if (auto r = ready(); !r) return r;
        out_.clear();
        group_views_.assign(groups.begin(), groups.end());
        d::encode(out_, s | (self_discard ? d::self_discard : 0u), private_group_, group_views_, mess_type, data);
        if (auto r = send_out(); !r) return r;
        ++stats_.sent;
        return {};
    }
    /// multicast() to one group.
    result<void> multicast(service svc, std::string_view group, std::int16_t mess_type, std::string_view data,
                           bool self_discard = false) {
        return multicast(svc, std::span<const std::string_view>(&group, 1), mess_type, data, self_discard);
    }

    /// The next message if one has arrived (never waits): nullopt when none is complete
    /// yet. Call it until nullopt after the descriptor polls readable (a message may be
    /// buffered: has_buffered()). While disconnected it reconnects when due.
    result<std::optional<message>> receive() {
        if (auto r = ready(); !r) return r.error_value();
        if (auto m = take_buffered(); !m || *m) return m;
        char chunk[65536];
        for (;;) {
            const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, MSG_DONTWAIT);
            if (n > 0) {
                in_.append(chunk, static_cast<std::size_t>(n));
                stats_.bytes_received += static_cast<std::uint64_t>(n);
                auto m = take_buffered();
                if (!m || *m) return m;
                continue;
            }
            if (n == 0) return lost(error::make(errc::unavailable, "spread", where(),
                                                in_.size() > in_pos_ ? "the daemon closed the connection in the middle of a message"
                                                                     : "the daemon closed the connection"));
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return std::optional<message>{};
            return lost(os_lost(errno, "read from the daemon failed"));
        }
    }

    /// Waits up to `timeout` for a message (a blocking receive(); -1 ms: no limit).
    /// nullopt when the time passed without one.
    result<std::optional<message>> receive_for(std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            auto m = receive();
            if (!m || *m) return m;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (timeout.count() >= 0 && left.count() <= 0) return std::optional<message>{};
            int ms = timeout.count() < 0 ? -1 : static_cast<int>(left.count());
            if (!fd_) ms = std::min<int>(ms < 0 ? 1 << 30 : ms, static_cast<int>(next_timeout().count()));
            pollfd p{fd_.get(), POLLIN, 0};
            if (::poll(&p, fd_ ? 1 : 0, ms) < 0 && errno != EINTR)
                return rowcast::detail::os_error(errno, "spread", where(), "poll failed");
        }
    }

    /// Sends the disconnect message (best effort) and closes; no reconnect after this.
    void disconnect() noexcept {
        if (fd_) {
            out_.clear();
            try {
                rowcast::detail::spread::encode(out_, rowcast::detail::spread::kill_mess, private_group_, {private_group_}, 0, {});
            } catch (...) {
                out_.clear();
            }
            (void)::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            fd_.reset();
            stats_.connected = 0;
        }
        closed_ = true;
    }

    /// The socket while connected (poll it for POLLIN), -1 while disconnected.
    int native_handle() const noexcept { return fd_.get(); }
    /// 0 when a message is buffered or a reconnect is due; the wait before the next
    /// reconnect attempt while disconnected; -1 otherwise (wait for the descriptor).
    std::chrono::milliseconds next_timeout() const noexcept {
        using namespace std::chrono;
        if (fd_) return milliseconds(has_buffered() ? 0 : -1);
        if (closed_ || !opt_.auto_reconnect) return milliseconds(-1);
        return std::max(milliseconds(0), duration_cast<milliseconds>(retry_at_ - steady_clock::now()));
    }
    bool connected() const noexcept { return static_cast<bool>(fd_); }
    /// True when a whole message is already buffered (receive() returns it without reading).
    bool has_buffered() const noexcept {
        const std::string_view rest = std::string_view(in_).substr(in_pos_);
        if (rest.size() < rowcast::detail::spread::header_size) return false;
        auto n = rowcast::detail::spread::frame_size(rest);
        return !n || rest.size() >= *n;
    }
    /// This session's private group "#<name>#<daemon>" (the sender name others see).
    const std::string& private_group() const noexcept { return private_group_; }
    /// The daemon's version as "major.minor.patch".
    const std::string& daemon_version() const noexcept { return daemon_version_; }
    /// The groups joined (re-joined after a reconnect).
    const std::vector<std::string>& joined() const noexcept { return joined_; }
    const client_options& options() const noexcept { return opt_; }
    client_stats stats() const noexcept { return stats_; }

private:
    explicit client(client_options o) : opt_(std::move(o)), retry_(opt_.reconnect) {}

    using clock = std::chrono::steady_clock;

    std::string where() const {
        return "daemon " + (opt_.unix_socket.empty() ? opt_.host + ":" + std::to_string(opt_.port) : opt_.unix_socket);
    }

    static result<void> check(std::string_view g, bool allow_private) {
        if (auto why = rowcast::detail::spread::check_group_name(g, allow_private); !why.empty())
            return error::make(errc::invalid_value, "spread", "group '" + std::string(g) + "'", why);
        return {};
    }

    error os_lost(int err, std::string_view what) const {
        return error::make(errc::unavailable, "spread", where(), std::string(what) + ": " + std::strerror(err));
    }

    // Closes after a failure; schedules the reconnect; returns `e`.
    error lost(error e) {
        if (fd_) {
            fd_.reset();
            ++stats_.disconnects;
            stats_.connected = 0;
            rowcast::log(opt_.log, log_level::warning, "spread", e.message + "; connection closed");
        }
        in_.clear();
        in_pos_ = 0;
        retry_at_ = clock::now() + retry_.next().value_or(opt_.reconnect.max);
        return e;
    }

    // Connected, or reconnected now when due; unavailable otherwise.
    result<void> ready() {
        if (fd_) return {};
        if (closed_) return error::make(errc::unavailable, "spread", where(), "disconnected (disconnect() was called)");
        if (!opt_.auto_reconnect) return error::make(errc::unavailable, "spread", where(), "not connected (auto_reconnect off)");
        if (clock::now() < retry_at_)
            return error::make(errc::unavailable, "spread", where(), "not connected; next attempt in " +
                                                                         std::to_string(next_timeout().count()) + " ms");
        auto r = open();
        if (!r) {
            retry_at_ = clock::now() + retry_.next().value_or(opt_.reconnect.max);
            return r;
        }
        for (const auto& g : joined_)
            if (auto j = control(rowcast::detail::spread::join_mess, g); !j) return j;
        rowcast::log(opt_.log, log_level::info, "spread",
                     where() + ": reconnected as " + private_group_ + ", re-joined " + std::to_string(joined_.size()) + " groups");
        return {};
    }

    // The decoder over the buffered bytes: a message, nullopt, or a violation (connection dropped).
    result<std::optional<message>> take_buffered() {
        namespace d = rowcast::detail::spread;
        const std::string_view rest = std::string_view(in_).substr(in_pos_);
        auto m = d::decode(rest, consumed_ + in_pos_);
        if (!m) {
            ++stats_.protocol_errors;
            return lost(m.error_value());
        }
        if (!*m) {
            if (in_pos_ > 0) {  // keep only the incomplete message
                in_.erase(0, in_pos_);
                consumed_ += in_pos_;
                in_pos_ = 0;
            }
            return std::optional<message>{};
        }
        const d::decoded& x = **m;
        message out;
        out.kind = static_cast<message_kind>(x.k);
        out.type = x.type;
        out.sender.assign(x.sender);
        out.groups.assign(x.groups.begin(), x.groups.end());
        out.mess_type = x.mess_type;
        out.endian_mismatch = x.hint_big_endian;
        out.data.assign(x.data);
        out.gid = x.gid;
        for (const auto& set : x.vs_sets) out.vs_sets.emplace_back(set.begin(), set.end());
        out.local_vs_set = x.local_vs_set;
        in_pos_ += x.size;
        ++stats_.received;
        return std::optional<message>(std::move(out));
    }

    result<void> control(std::uint32_t type, std::string_view group) {
        if (auto r = ready(); !r) return r;
        out_.clear();
        rowcast::detail::spread::encode(out_, type, private_group_, {group}, 0, {});
        return send_out();
    }

    // Writes out_ whole within send_timeout; a failure or time-out mid-way drops the
    // connection (the stream would be cut inside a message).
    result<void> send_out() {
        std::string_view rest = out_;
        const auto until = clock::now() + opt_.send_timeout;
        while (!rest.empty()) {
            const ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n >= 0) {
                rest.remove_prefix(static_cast<std::size_t>(n));
                stats_.bytes_sent += static_cast<std::uint64_t>(n);
                continue;
            }
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return lost(os_lost(errno, "write to the daemon failed"));
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
            pollfd p{fd_.get(), POLLOUT, 0};
            if (left.count() <= 0 || (::poll(&p, 1, static_cast<int>(left.count())) == 0))
                return lost(error::make(errc::unavailable, "spread", where(),
                                        "the daemon took no data for " + std::to_string(opt_.send_timeout.count()) + " ms"));
        }
        return {};
    }

    // Handshake helpers, bounded by the connect deadline.
    result<void> wait(short events, clock::time_point until) {
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
            if (left.count() <= 0)
                return error::make(errc::unavailable, "spread", where(),
                                   "connect_timeout of " + std::to_string(opt_.connect_timeout.count()) + " ms reached");
            pollfd p{fd_.get(), events, 0};
            const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
            if (rc > 0) return {};
            if (rc < 0 && errno != EINTR) return rowcast::detail::os_error(errno, "spread", where(), "poll failed");
        }
    }
    // Reads exactly n handshake bytes; EOF or a reset is CONNECTION_CLOSED (unavailable).
    result<std::string> read_exact(std::size_t n, clock::time_point until, std::string_view what) {
        std::string s;
        while (s.size() < n) {
            char buf[256];
            const ssize_t r = ::recv(fd_.get(), buf, std::min(sizeof buf, n - s.size()), MSG_DONTWAIT);
            if (r > 0) {
                s.append(buf, static_cast<std::size_t>(r));
                continue;
            }
            if (r == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
                return error::make(errc::unavailable, "spread", where(),
                                   "connection closed during the handshake, reading " + std::string(what) +
                                       (r == 0 ? std::string() : std::string(": ") + std::strerror(errno)));
            if (errno == EINTR) continue;
            if (auto w = wait(POLLIN, until); !w) return w.error_value();
        }
        return s;
    }
    // A handshake byte that is a reject code (negative).
    error rejected(int code, std::string_view when) const {
        const bool transient = code == -3 || code == -6 || code == -8;  // quota, name still taken, closed
        return error::make(transient ? errc::unavailable : errc::refused, "spread", where(),
                           "the daemon rejected the session " + std::string(when) + ": " + std::to_string(code) + " " +
                               std::string(rowcast::detail::spread::reject_name(code)));
    }

    result<void> dial(clock::time_point until) {
        auto try_addr = [&](int family, const sockaddr* sa, socklen_t len) -> result<void> {
            fd_.reset(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
            if (!fd_) return rowcast::detail::os_error(errno, "spread", where(), "socket failed");
            if (::connect(fd_.get(), sa, len) != 0) {
                if (errno != EINPROGRESS && errno != EAGAIN) return os_lost(errno, "cannot connect");
                if (auto w = wait(POLLOUT, until); !w) return w;
                int err = 0;
                socklen_t el = sizeof err;
                if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
                if (err != 0) return os_lost(err, "cannot connect");
            }
            return {};
        };
        if (!opt_.unix_socket.empty()) {
            sockaddr_un sa{};
            sa.sun_family = AF_UNIX;
            if (opt_.unix_socket.size() >= sizeof sa.sun_path)
                return error::make(errc::invalid_value, "spread", where(), "Unix socket path too long");
            std::memcpy(sa.sun_path, opt_.unix_socket.data(), opt_.unix_socket.size());
            return try_addr(AF_UNIX, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
        }
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        if (const int rc = ::getaddrinfo(opt_.host.c_str(), std::to_string(opt_.port).c_str(), &hints, &res); rc != 0)
            return error::make(errc::unavailable, "spread", where(), std::string("cannot resolve the host: ") + ::gai_strerror(rc));
        result<void> last = error::make(errc::unavailable, "spread", where(), "no address");
        for (addrinfo* a = res; a; a = a->ai_next) {
            last = try_addr(a->ai_family, a->ai_addr, a->ai_addrlen);
            if (last) break;
        }
        ::freeaddrinfo(res);
        if (last) {
            int one = 1;
            ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ::setsockopt(fd_.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        }
        return last;
    }

    // Connect and handshake (docs/spread.md, "Protocol").
    result<void> open() {
        namespace d = rowcast::detail::spread;
        const auto until = clock::now() + opt_.connect_timeout;
        in_.clear();
        in_pos_ = consumed_ = 0;
        auto fail = [&](error e) -> result<void> {
            fd_.reset();
            return e;
        };
        if (auto r = dial(until); !r) return fail(r.error_value());
        std::string hello{5, 0, 1, static_cast<char>(opt_.membership ? 0x01 : 0x00), static_cast<char>(opt_.name.size())};
        hello += opt_.name;
        if (::send(fd_.get(), hello.data(), hello.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(hello.size()))
            return fail(os_lost(errno, "cannot send the connect message"));
        auto len = read_exact(1, until, "the authentication list length");
        if (!len) return fail(len.error_value());
        const auto l = static_cast<signed char>((*len)[0]);
        if (l < 0) return fail(rejected(l, "after the connect message"));
        auto methods = read_exact(static_cast<std::size_t>(l), until, "the authentication list");
        if (!methods) return fail(methods.error_value());
        bool null_ok = false;
        for (std::size_t p = 0; p < methods->size();) {
            auto sp = methods->find(' ', p);
            if (sp == std::string::npos) sp = methods->size();
            null_ok = null_ok || methods->compare(p, sp - p, "NULL") == 0;
            p = sp + 1;
        }
        if (!null_ok)
            return fail(error::make(errc::refused, "spread", where(),
                                    "the daemon does not offer the NULL authentication method (offered: '" + *methods + "')"));
        std::string choice = "NULL";
        choice.resize(d::auth_reply_size, '\0');
        if (::send(fd_.get(), choice.data(), choice.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(choice.size()))
            return fail(os_lost(errno, "cannot send the authentication choice"));
        auto acc = read_exact(1, until, "the accept byte");
        if (!acc) return fail(acc.error_value());
        const auto a = static_cast<signed char>((*acc)[0]);
        if (a != 1) {
            if (a < 0) return fail(rejected(a, "after authentication"));
            return fail(error::make(errc::bad_magic, "spread", where(), "accept byte " + std::to_string(a) + " (1 expected)"));
        }
        auto rest = read_exact(4, until, "the daemon version and private group length");
        if (!rest) return fail(rest.error_value());
        acc->append(*rest);
        const auto major = static_cast<unsigned char>((*acc)[1]);
        if (major < 3) return fail(error::make(errc::unsupported_version, "spread", where(), "daemon major version " + std::to_string(major)));
        daemon_version_ = std::to_string(major) + "." + std::to_string(static_cast<unsigned char>((*acc)[2])) + "." +
                          std::to_string(static_cast<unsigned char>((*acc)[3]));
        const auto plen = static_cast<unsigned char>((*acc)[4]);
        if (plen == 0 || plen >= d::name_slot)
            return fail(error::make(errc::invalid_value, "spread", where(),
                                    "private group name length " + std::to_string(plen) + " (1..31 expected)"));
        auto pg = read_exact(plen, until, "the private group name");
        if (!pg) return fail(pg.error_value());
        const auto second = pg->find('#', 1);
        if ((*pg)[0] != '#' || second == std::string::npos || (!opt_.name.empty() && pg->substr(1, second - 1) != opt_.name))
            return fail(error::make(errc::invalid_value, "spread", where(),
                                    "private group '" + *pg + "' is not '#" + opt_.name + "#<daemon>'"));
        for (unsigned char ch : *pg)
            if (ch != '#' && !d::name_byte(ch))
                return fail(error::make(errc::invalid_value, "spread", where(), "private group name has a byte outside '$'..'~'"));
        private_group_ = std::move(*pg);
        retry_.reset();
        ++stats_.connects;
        stats_.connected = 1;
        return {};
    }

    client_options opt_;
    backoff retry_;
    rowcast::detail::unique_fd fd_;
    std::string private_group_, daemon_version_;
    std::vector<std::string> joined_;
    std::string in_, out_;
    std::size_t in_pos_ = 0;      // start of the first unread message in in_
    std::size_t consumed_ = 0;    // stream offset of in_[0] (for messages)
    std::vector<std::string_view> group_views_;
    clock::time_point retry_at_{};
    bool closed_ = false;
    client_stats stats_;
};

}  // namespace spread
ROWCAST_NAMESPACE_END
