// rowcast/datagram/netlink.hpp: NETLINK_USERSOCK multicast as a datagram link, to
// subscribers on the same host (and network namespace), for datagram::producer /
// datagram::consumer (rowcast/datagram/producer.hpp, consumer.hpp):
//
//   rowcast::datagram::netlink_options nl;                          // default group mapping
//   auto out = rowcast::datagram::netlink_producer<rowcast::binary_codec>::open(nl, {}).value();
//   nl.tables = {"shop.orders"};                                    // subscribe to its group only
//   auto in  = rowcast::datagram::netlink_consumer<rowcast::binary_codec>::open(nl, {}).value();
//
// Groups: NETLINK_USERSOCK has 32 multicast groups (1..32). Each table
// ("schema.table") is sent to one group: `groups` maps names to groups, the others
// (and every name when `groups` is empty) go to 1 + crc32(name) % 32, a mapping
// stable across versions and hosts. Any number of tables share the 32 groups; the
// frame header names the table, so a consumer drops the other tables' frames before
// decoding. Events without a table (begin, commit, rollback) go to group 1 and are
// delivered to every consumer subscribed to it. Each group is a separate channel
// with its own sequence numbers, so a consumer of some groups sees no false gaps.
//
// Who may use it (Linux's NETLINK_USERSOCK flags, checked on 6.18 by test_datagram
// AnyUserMaySendOnlyRootMaySubscribeTheMacRefusesOthers): ANY local user of the network
// namespace may send to its groups (NL_CFG_F_NONROOT_SEND); subscribing to a group needs
// CAP_NET_ADMIN there (EPERM otherwise). So the kernel does not authenticate senders: a
// consumer without keys accepts whatever any local process sends; with keys forged
// frames are dropped and counted, so give netlink keys as UDP (docs/datagram.md,
// "Security model"). What is sent is readable only by CAP_NET_ADMIN subscribers. A send to a group also asks for a unicast to
// the kernel, which has no USERSOCK handler and answers ECONNREFUSED; the multicast part is
// delivered, so that error is ignored. Repairs travel by netlink unicast between
// the sockets' port ids. A consumer whose receive buffer overflows gets ENOBUFS
// (counted as an overrun); the lost frames are then found by their sequence
// numbers and repaired like any other loss.
//
// Thread-safety: a link is used by its producer or consumer only.
#pragma once

#include <rowcast/datagram/detail/link.hpp>
#include <rowcast/detail/crc32.hpp>
#include <rowcast/error.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/types.h>

ROWCAST_NAMESPACE_BEGIN
namespace datagram {

inline constexpr std::uint32_t netlink_groups = 32;

/// The default group of a table: 1 + crc32("schema.table") % 32; group 1 for "" (no table).
inline std::uint32_t default_netlink_group(std::string_view table) noexcept {
    if (table.empty()) return 1;
    return 1 + detail::crc32(table.data(), table.size()) % netlink_groups;
}

struct netlink_options {
    std::map<std::string, std::uint32_t, std::less<>> groups;  ///< "schema.table" -> group 1..32 (others: the default)
    std::vector<std::string> tables;  ///< consumer: the tables to receive ("schema.table"); empty: every group, every table
    int receive_buffer = 0;           ///< SO_RCVBUF(FORCE) in bytes; 0: the kernel's default
    std::size_t max_datagram = 16384; ///< bytes per datagram sent; 128..65000
    /// Accept datagrams only from processes of these user ids, as the kernel reports them
    /// (SCM_CREDENTIALS): a consumer drops the others (counted `unauthenticated`), a producer
    /// their NAKs. Empty: from anyone (then only keys authenticate). With it, keys may be left
    /// out on netlink ("Security model" in docs/datagram.md).
    std::vector<uid_t> senders;
};

class netlink_link {
public:
    using options = netlink_options;
    static constexpr std::string_view name = "netlink";

    /// Errors: invalid_value (a group outside 1..32), io_error (socket, bind). Needs no privilege.
    static result<netlink_link> open_sender(const netlink_options& o) { return open(o, false); }
    /// As open_sender; also io_error from NETLINK_ADD_MEMBERSHIP (EPERM without CAP_NET_ADMIN).
    static result<netlink_link> open_receiver(const netlink_options& o) { return open(o, true); }

    int fd() const noexcept { return fd_.get(); }
    std::size_t max_datagram() const noexcept { return max_; }
    std::uint32_t channel_of(std::string_view table) const noexcept {
        if (table.empty()) return 1;
        if (auto it = groups_.find(table); it != groups_.end()) return it->second;
        return default_netlink_group(table);
    }
    /// Port id of this socket (what NAKs are answered to).
    std::uint32_t port_id() const noexcept { return port_; }

    /// sendmsg() per datagram (sendmmsg() stops at the first ECONNREFUSED of a group send).
    int send(std::span<const detail::datagram::out_datagram> d) noexcept {
        for (const auto& o : d) {
            sockaddr_nl to{};
            to.nl_family = AF_NETLINK;
            const sockaddr* dst;
            socklen_t len;
            if (o.to) {
                dst = reinterpret_cast<const sockaddr*>(&o.to->addr);
                len = o.to->len;
            } else {
                to.nl_groups = 1u << (o.channel - 1);
                dst = reinterpret_cast<const sockaddr*>(&to);
                len = sizeof to;
            }
            for (;;) {
                if (::sendto(fd_.get(), o.bytes.data(), o.bytes.size(), 0, dst, len) >= 0) break;
                if (errno == EINTR) continue;
                if (errno == ECONNREFUSED && !o.to) break;  // the kernel's unicast part; the multicast went
                return errno;
            }
        }
        return 0;
    }
    int send_to(std::string_view bytes, const detail::datagram::peer& to) noexcept {
        const detail::datagram::out_datagram d{bytes, &to, 0};
        return send(std::span(&d, 1));
    }
    /// recvmmsg(); with `senders`, datagrams from other user ids (or without credentials)
    /// are marked b.refused(i).
    int receive(detail::datagram::recv_buffers& b, bool control) noexcept {
        if (control) return 0;
        if (senders_.empty()) return b.receive(fd_.get());
        b.want_credentials();
        const int n = b.receive(fd_.get());
        for (int i = 0; i < n; ++i) {
            const auto idx = static_cast<std::size_t>(i);
            const auto uid = b.sender_uid(idx);
            if (!uid || std::find(senders_.begin(), senders_.end(), *uid) == senders_.end()) b.refuse(idx);
        }
        return n;
    }

private:
    static result<netlink_link> open(const netlink_options& o, bool receiver) {
        netlink_link l;
        l.max_ = o.max_datagram;
        if (l.max_ < 128 || l.max_ > 65000) return error::make(errc::invalid_value, "datagram", "netlink", "max_datagram outside 128..65000");
        for (const auto& [t, g] : o.groups) {
            if (g < 1 || g > netlink_groups)
                return error::make(errc::invalid_value, "datagram", "netlink", "group " + std::to_string(g) + " of " + t + " outside 1..32");
            l.groups_.emplace(t, g);
        }
        l.fd_ = detail::unique_fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (receiver ? SOCK_NONBLOCK : 0), NETLINK_USERSOCK));
        if (!l.fd_) return detail::os_error(errno, "datagram", "netlink", "socket(NETLINK_USERSOCK)");
        if (o.receive_buffer > 0 && ::setsockopt(l.fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &o.receive_buffer, sizeof(int)) != 0) {
            if (auto r = detail::datagram::set_int_option(l.fd_.get(), SOL_SOCKET, SO_RCVBUF, o.receive_buffer, "datagram", "SO_RCVBUF"); !r)
                return r.error_value();
        }
        sockaddr_nl self{};
        self.nl_family = AF_NETLINK;
        if (::bind(l.fd_.get(), reinterpret_cast<const sockaddr*>(&self), sizeof self) != 0)
            return detail::os_error(errno, "datagram", "netlink", "bind");
        socklen_t len = sizeof self;
        if (::getsockname(l.fd_.get(), reinterpret_cast<sockaddr*>(&self), &len) != 0)
            return detail::os_error(errno, "datagram", "netlink", "getsockname");
        l.port_ = self.nl_pid;
        l.senders_ = o.senders;
        if (!l.senders_.empty())
            if (auto r = detail::datagram::set_int_option(l.fd_.get(), SOL_SOCKET, SO_PASSCRED, 1, "datagram", "SO_PASSCRED"); !r)
                return r.error_value();
        if (receiver) {
            std::vector<std::uint32_t> join;
            if (o.tables.empty()) {
                for (std::uint32_t g = 1; g <= netlink_groups; ++g) join.push_back(g);
            } else {
                join.push_back(1);  // begin/commit/rollback
                for (const auto& t : o.tables) join.push_back(l.channel_of(t));
            }
            for (std::uint32_t g : join)
                if (auto r = detail::datagram::set_int_option(l.fd_.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, static_cast<int>(g),
                                                              "datagram", "NETLINK_ADD_MEMBERSHIP");
                    !r)
                    return r.error_value();
        }
        return l;
    }

    detail::unique_fd fd_;
    std::map<std::string, std::uint32_t, std::less<>> groups_;
    std::size_t max_ = 16384;
    std::uint32_t port_ = 0;
    std::vector<uid_t> senders_;
};

}  // namespace datagram
ROWCAST_NAMESPACE_END
