// Internal: what the UDP and netlink links share: peer addresses, outgoing
// datagram lists, and batched receive buffers over recvmmsg().
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>

ROWCAST_NAMESPACE_BEGIN
namespace detail::datagram {

/// A socket address (a sender to answer, a receiver to repair).
struct peer {
    sockaddr_storage addr{};
    socklen_t len = 0;
    friend bool operator==(const peer& a, const peer& b) noexcept {
        return a.len == b.len && std::memcmp(&a.addr, &b.addr, a.len) == 0;
    }
};

/// One datagram to send: to its channel's group (to == nullptr) or to one peer.
struct out_datagram {
    std::string_view bytes;
    const peer* to = nullptr;
    std::uint32_t channel = 0;
};

/// Buffers for up to `slots` datagrams of at most `size` bytes, filled by recv_batch().
class recv_buffers {
public:
    recv_buffers(std::size_t slots, std::size_t size)
        : data_(slots * size), size_(size), iov_(slots), msgs_(slots), from_(slots) {
        for (std::size_t i = 0; i < slots; ++i) {
            iov_[i] = {data_.data() + i * size, size};
            msgs_[i] = {};
        }
    }
    std::size_t slots() const noexcept { return msgs_.size(); }
    /// The i-th received datagram (valid until the next receive).
    std::string_view bytes(std::size_t i) const noexcept { return {data_.data() + i * size_, msgs_[i].msg_len}; }
    bool truncated(std::size_t i) const noexcept { return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
    const peer& from(std::size_t i) const noexcept { return from_[i]; }
    /// True if the link refused the i-th datagram's sender (refuse()); reset by each receive.
    bool refused(std::size_t i) const noexcept { return refused_[i] != 0; }
    void refuse(std::size_t i) noexcept { refused_[i] = 1; }

    /// From now on, each receive also takes the SCM_CREDENTIALS the kernel attaches (the
    /// socket needs SO_PASSCRED). Allocates once.
    void want_credentials() {
        if (ctl_.empty()) ctl_.assign(msgs_.size() * ctl_size, 0);
    }
    /// The sender's user id, as the kernel reported it, if credentials came with datagram i.
    std::optional<uid_t> sender_uid(std::size_t i) const noexcept {
        if (ctl_.empty()) return std::nullopt;
        auto& h = const_cast<msghdr&>(msgs_[i].msg_hdr);  // CMSG_* take non-const headers
        for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_CREDENTIALS || c->cmsg_len < CMSG_LEN(sizeof(ucred))) continue;
            ucred u;
            std::memcpy(&u, CMSG_DATA(c), sizeof u);
            return u.uid;
        }
        return std::nullopt;
    }

    /// recvmmsg(MSG_DONTWAIT) on `fd`: returns how many datagrams arrived (0: none
    /// waiting), or -errno (ENOBUFS from netlink: the receive buffer overflowed).
    int receive(int fd) noexcept {
        for (std::size_t i = 0; i < msgs_.size(); ++i) {
            msgs_[i].msg_hdr = {};
            msgs_[i].msg_hdr.msg_iov = &iov_[i];
            msgs_[i].msg_hdr.msg_iovlen = 1;
            msgs_[i].msg_hdr.msg_name = &from_[i].addr;
            msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            if (!ctl_.empty()) {
                msgs_[i].msg_hdr.msg_control = ctl_.data() + i * ctl_size;
                msgs_[i].msg_hdr.msg_controllen = ctl_size;
            }
            msgs_[i].msg_len = 0;
            refused_[i] = 0;
        }
        for (;;) {
            const int n = ::recvmmsg(fd, msgs_.data(), static_cast<unsigned>(msgs_.size()), MSG_DONTWAIT, nullptr);
            if (n >= 0) {
                for (int i = 0; i < n; ++i) from_[static_cast<std::size_t>(i)].len = msgs_[static_cast<std::size_t>(i)].msg_hdr.msg_namelen;
                return n;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -errno;
        }
    }

private:
    std::vector<char> data_;
    std::size_t size_;
    std::vector<iovec> iov_;
    std::vector<mmsghdr> msgs_;
    std::vector<peer> from_;
    std::vector<char> refused_ = std::vector<char>(msgs_.size(), 0);
    static constexpr std::size_t ctl_size = CMSG_SPACE(sizeof(ucred));
    std::vector<char> ctl_;  // ctl_size per slot when want_credentials()
};

inline result<void> set_int_option(int fd, int level, int name, int value, std::string_view component, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) return os_error(errno, component, what, "setsockopt");
    return {};
}

}  // namespace detail::datagram
ROWCAST_NAMESPACE_END
