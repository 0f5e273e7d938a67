// Internal: RAII file descriptor and errno-to-error helpers for the transports.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN
namespace detail {

/// Owns one file descriptor; closes it on destruction. Move-only.
class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

/// "[rowcast.<component>.io_error] <where>: <what>: <strerror(err)>".
inline error os_error(int err, std::string_view component, std::string_view where, std::string_view what) {
    std::string m(what);
    m += ": ";
    m += std::strerror(err);
    error e = error::make(errc::io_error, component, where, m);
    return e;
}

/// Writes all of `data` to `fd`, retrying on EINTR and short writes. Returns 0 or an errno.
inline int write_all(int fd, std::string_view data) noexcept {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

}  // namespace detail
ROWCAST_NAMESPACE_END
