// rowcast/datagram/udp.hpp: UDP multicast as a datagram link (IPv4 and IPv6), for
// datagram::producer / datagram::consumer (rowcast/datagram/producer.hpp,
// consumer.hpp):
//
//   rowcast::datagram::udp_options net{.group = "239.10.0.1", .port = 5999, .interface = "eth0"};
//   auto out = rowcast::datagram::udp_producer<rowcast::binary_codec>::open(net, {}).value();
//   auto in  = rowcast::datagram::udp_consumer<rowcast::binary_codec>::open(net, {}).value();
//
// The sender's socket is bound to an ephemeral port: it multicasts to group:port
// and receives the receivers' NAKs there. A receiver has two sockets: one bound to
// group:port with SO_REUSEADDR + SO_REUSEPORT (several receivers on one host each
// get every multicast datagram) and one on an ephemeral port that sends NAKs and
// receives the unicast repairs; native_handle() is an epoll descriptor over both.
// Sends use sendmmsg(), receives recvmmsg().
//
// Permissions: none beyond a firewall that lets the group's port in (and the
// senders' ephemeral ports to the receivers' ephemeral ports for repairs).
//
// Thread-safety: a link is used by its producer or consumer only.
#pragma once

#include <rowcast/datagram/detail/link.hpp>
#include <rowcast/error.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

ROWCAST_NAMESPACE_BEGIN
namespace datagram {

struct udp_options {
    std::string group;           ///< multicast group, IPv4 ("239.1.2.3") or IPv6 ("ff15::1")
    std::uint16_t port = 0;      ///< the group's UDP port (not 0)
    std::string interface;       ///< interface name for sending and joining; empty: the routing table's choice
    int hops = 1;                ///< TTL (IPv4) / hop limit (IPv6) of multicast datagrams, 0..255
    bool loopback = true;        ///< deliver to receivers on the sending host too
    int send_buffer = 0;         ///< SO_SNDBUF in bytes; 0: the kernel's default
    int receive_buffer = 0;      ///< SO_RCVBUF in bytes; 0: the kernel's default (raise it for bursts)
    std::size_t max_datagram = 1400;  ///< bytes per datagram sent (fits a 1500-byte MTU); 128..65000
};

class udp_link {
public:
    using options = udp_options;
    static constexpr std::string_view name = "udp";

    /// The sending side. Errors: invalid_value (bad group, port or interface), io_error.
    static result<udp_link> open_sender(const udp_options& o) {
        udp_link l;
        if (auto r = l.init(o); !r) return r.error_value();
        l.fd_ = detail::unique_fd(::socket(l.group_.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!l.fd_) return detail::os_error(errno, "datagram", "udp", "socket");
        if (auto r = l.common(l.fd_.get()); !r) return r.error_value();
        if (auto r = l.bind_any(l.fd_.get()); !r) return r.error_value();
        if (l.v6_) {
            if (auto r = set(l.fd_.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, o.hops, "IPV6_MULTICAST_HOPS"); !r) return r.error_value();
            if (auto r = set(l.fd_.get(), IPPROTO_IPV6, IPV6_MULTICAST_LOOP, o.loopback, "IPV6_MULTICAST_LOOP"); !r) return r.error_value();
            if (l.ifindex_) {
                if (auto r = set(l.fd_.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, static_cast<int>(l.ifindex_), "IPV6_MULTICAST_IF"); !r)
                    return r.error_value();
            }
        } else {
            if (auto r = set(l.fd_.get(), IPPROTO_IP, IP_MULTICAST_TTL, o.hops, "IP_MULTICAST_TTL"); !r) return r.error_value();
            if (auto r = set(l.fd_.get(), IPPROTO_IP, IP_MULTICAST_LOOP, o.loopback, "IP_MULTICAST_LOOP"); !r) return r.error_value();
            if (l.ifindex_) {
                ip_mreqn m{};
                m.imr_ifindex = static_cast<int>(l.ifindex_);
                if (::setsockopt(l.fd_.get(), IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) != 0)
                    return detail::os_error(errno, "datagram", "udp", "IP_MULTICAST_IF");
            }
        }
        return l;
    }

    /// The receiving side: joins the group. Errors: invalid_value, io_error.
    static result<udp_link> open_receiver(const udp_options& o) {
        udp_link l;
        if (auto r = l.init(o); !r) return r.error_value();
        const int fam = l.group_.addr.ss_family;
        l.fd_ = detail::unique_fd(::socket(fam, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        l.ctl_ = detail::unique_fd(::socket(fam, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        l.epoll_ = detail::unique_fd(::epoll_create1(EPOLL_CLOEXEC));
        if (!l.fd_ || !l.ctl_ || !l.epoll_) return detail::os_error(errno, "datagram", "udp", "socket");
        if (auto r = set(l.fd_.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !r) return r.error_value();
        if (auto r = set(l.fd_.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"); !r) return r.error_value();
        if (auto r = l.common(l.fd_.get()); !r) return r.error_value();
        if (auto r = l.common(l.ctl_.get()); !r) return r.error_value();
        if (::bind(l.fd_.get(), reinterpret_cast<const sockaddr*>(&l.group_.addr), l.group_.len) != 0)
            return detail::os_error(errno, "datagram", "udp " + o.group, "bind to the group");
        if (auto r = l.bind_any(l.ctl_.get()); !r) return r.error_value();
        if (l.v6_) {
            ipv6_mreq m{};
            m.ipv6mr_multiaddr = reinterpret_cast<const sockaddr_in6*>(&l.group_.addr)->sin6_addr;
            m.ipv6mr_interface = l.ifindex_;
            if (::setsockopt(l.fd_.get(), IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof m) != 0)
                return detail::os_error(errno, "datagram", "udp " + o.group, "IPV6_ADD_MEMBERSHIP");
        } else {
            ip_mreqn m{};
            m.imr_multiaddr = reinterpret_cast<const sockaddr_in*>(&l.group_.addr)->sin_addr;
            m.imr_ifindex = static_cast<int>(l.ifindex_);
            if (::setsockopt(l.fd_.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0)
                return detail::os_error(errno, "datagram", "udp " + o.group, "IP_ADD_MEMBERSHIP");
        }
        for (int fd : {l.fd_.get(), l.ctl_.get()}) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = fd;
            if (::epoll_ctl(l.epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return detail::os_error(errno, "datagram", "udp", "epoll_ctl");
        }
        return l;
    }

    /// Descriptor to poll for input (sender: NAKs; receiver: data and repairs).
    int fd() const noexcept { return epoll_ ? epoll_.get() : fd_.get(); }
    std::size_t max_datagram() const noexcept { return max_; }
    /// UDP has one channel per link (the group).
    std::uint32_t channel_of(std::string_view) const noexcept { return 0; }

    /// Sends `d` with sendmmsg(); datagrams with `to` go there, the others to the group.
    /// Returns 0 or the errno of the first datagram the kernel refused.
    int send(std::span<const detail::datagram::out_datagram> d) noexcept {
        constexpr std::size_t chunk = 64;
        iovec iov[chunk];
        mmsghdr msgs[chunk];
        std::size_t done = 0;
        while (done < d.size()) {
            const std::size_t n = std::min(chunk, d.size() - done);
            for (std::size_t i = 0; i < n; ++i) {
                const auto& o = d[done + i];
                iov[i] = {const_cast<char*>(o.bytes.data()), o.bytes.size()};
                msgs[i] = {};
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
                const detail::datagram::peer& to = o.to ? *o.to : group_;
                msgs[i].msg_hdr.msg_name = const_cast<sockaddr_storage*>(&to.addr);
                msgs[i].msg_hdr.msg_namelen = to.len;
            }
            const int r = ::sendmmsg(o_fd(), msgs, static_cast<unsigned>(n), 0);
            if (r < 0) {
                if (errno == EINTR) continue;
                return errno;
            }
            done += static_cast<std::size_t>(r);
        }
        return 0;
    }
    /// Sends one datagram to `to` (a NAK from a receiver's control socket). 0 or errno.
    int send_to(std::string_view bytes, const detail::datagram::peer& to) noexcept {
        const int fd = ctl_ ? ctl_.get() : fd_.get();
        return ::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to.addr), to.len) < 0
                   ? errno : 0;
    }
    /// Receives what is waiting on the link's sockets into `b`; returns the count or -errno.
    /// (Receiver: the data socket first, then the control socket.)
    int receive(detail::datagram::recv_buffers& b, bool control) noexcept {
        if (control) return ctl_ ? b.receive(ctl_.get()) : 0;
        return b.receive(fd_.get());
    }

private:
    int o_fd() const noexcept { return fd_.get(); }
    static result<void> set(int fd, int level, int opt, int v, const char* what) {
        return detail::datagram::set_int_option(fd, level, opt, v, "datagram", what);
    }
    result<void> init(const udp_options& o) {
        max_ = o.max_datagram;
        if (o.port == 0) return error::make(errc::invalid_value, "datagram", "udp", "port 0");
        if (max_ < 128 || max_ > 65000) return error::make(errc::invalid_value, "datagram", "udp", "max_datagram outside 128..65000");
        if (o.hops < 0 || o.hops > 255) return error::make(errc::invalid_value, "datagram", "udp", "hops outside 0..255");
        sndbuf_ = o.send_buffer;
        rcvbuf_ = o.receive_buffer;
        if (!o.interface.empty()) {
            ifindex_ = ::if_nametoindex(o.interface.c_str());
            if (ifindex_ == 0) return error::make(errc::invalid_value, "datagram", "udp", "no interface '" + o.interface + "'");
        }
        auto* a4 = reinterpret_cast<sockaddr_in*>(&group_.addr);
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&group_.addr);
        if (::inet_pton(AF_INET, o.group.c_str(), &a4->sin_addr) == 1) {
            if (!IN_MULTICAST(ntohl(a4->sin_addr.s_addr)))
                return error::make(errc::invalid_value, "datagram", "udp", o.group + " is not a multicast group");
            a4->sin_family = AF_INET;
            a4->sin_port = htons(o.port);
            group_.len = sizeof(sockaddr_in);
        } else if (::inet_pton(AF_INET6, o.group.c_str(), &a6->sin6_addr) == 1) {
            if (!IN6_IS_ADDR_MULTICAST(&a6->sin6_addr))
                return error::make(errc::invalid_value, "datagram", "udp", o.group + " is not a multicast group");
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons(o.port);
            a6->sin6_scope_id = ifindex_;
            group_.len = sizeof(sockaddr_in6);
            v6_ = true;
        } else {
            return error::make(errc::invalid_value, "datagram", "udp", "'" + o.group + "' is not an IPv4 or IPv6 address");
        }
        return {};
    }
    result<void> common(int fd) {
        if (sndbuf_ > 0) {
            if (auto r = set(fd, SOL_SOCKET, SO_SNDBUF, sndbuf_, "SO_SNDBUF"); !r) return r;
        }
        if (rcvbuf_ > 0) {
            // SO_RCVBUFFORCE lets root go past net.core.rmem_max; others get the capped SO_RCVBUF.
            if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_, sizeof rcvbuf_) != 0) {
                if (auto r = set(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf_, "SO_RCVBUF"); !r) return r;
            }
        }
        return {};
    }
    result<void> bind_any(int fd) {
        sockaddr_storage a{};
        socklen_t len;
        if (v6_) {
            auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
            a6->sin6_family = AF_INET6;
            a6->sin6_addr = in6addr_any;
            len = sizeof(sockaddr_in6);
        } else {
            auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
            a4->sin_family = AF_INET;
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
            len = sizeof(sockaddr_in);
        }
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), len) != 0) return detail::os_error(errno, "datagram", "udp", "bind");
        return {};
    }

    detail::unique_fd fd_, ctl_, epoll_;
    detail::datagram::peer group_;
    unsigned ifindex_ = 0;
    bool v6_ = false;
    std::size_t max_ = 1400;
    int sndbuf_ = 0, rcvbuf_ = 0;
};

}  // namespace datagram
ROWCAST_NAMESPACE_END
