// Internal: RAII file descriptor and errno-to-error helpers for the transports, and
// the descriptor-relative file operations used in directories that another user may
// write (a spool): never through a symbolic link, never onto an existing name.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
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

/// Creates `name` in the directory `dfd` for writing, exclusively: an existing name (a file,
/// a planted symbolic or hard link) fails with EEXIST and is never opened. The mode is set
/// to exactly `mode` (fchmod: the umask does not narrow it). Invalid with errno set on failure
/// (nothing is left behind).
inline unique_fd create_exclusive(int dfd, const char* name, mode_t mode) noexcept {
    unique_fd fd(::openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd && ::fchmod(fd.get(), mode) != 0) {
        const int err = errno;
        fd.reset();
        ::unlinkat(dfd, name, 0);
        errno = err;
    }
    return fd;
}

/// Opens `name` in `dfd` for reading without following a symbolic link (ELOOP) and without
/// blocking on a FIFO (O_NONBLOCK; a socket fails with ENXIO). Callers fstat() it before reading.
inline unique_fd open_read_nofollow(int dfd, const char* name) noexcept {
    return unique_fd(::openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
}

/// "a FIFO", "a symbolic link", … for messages about a file that should be a regular one.
inline const char* file_type_name(mode_t m) noexcept {
    if (S_ISREG(m)) return "a regular file";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISLNK(m)) return "a symbolic link";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    return "not a regular file";
}

/// The directory `dir` as a descriptor, for *At() calls inside a directory that another user may
/// write: its parent is opened by path (the operator's choice, symbolic links allowed there),
/// `dir` itself is created in it with exactly `mode` when `create` and missing (never its
/// parents: a mistyped path is an error, not a new tree), and opened with O_NOFOLLOW, so a
/// symbolic link (or a file) in its place is refused. Errors: io_error naming `dir`.
inline result<unique_fd> open_private_directory(const std::filesystem::path& dir, bool create, mode_t mode,
                                                std::string_view component, std::string_view what) {
    std::string full = dir.string();
    while (full.size() > 1 && full.back() == '/') full.pop_back();
    const std::filesystem::path p(full);
    const std::string leaf = p.filename().string();
    const std::string parent = p.has_parent_path() ? p.parent_path().string() : std::string(".");
    if (leaf.empty() || leaf == "." || leaf == "..")
        return error::make(errc::invalid_value, component, full, std::string(what) + " must name a directory, not " + full);
    unique_fd pfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!pfd) return os_error(errno, component, parent, "cannot open the parent of the " + std::string(what));
    bool created = false;
    if (create) {
        if (::mkdirat(pfd.get(), leaf.c_str(), 0700) == 0) created = true;
        else if (errno != EEXIST) return os_error(errno, component, full, "cannot create " + std::string(what));
    }
    unique_fd fd(::openat(pfd.get(), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        struct stat st {};
        if ((err == ELOOP || err == ENOTDIR) && ::fstatat(pfd.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
            return error::make(errc::io_error, component, full,
                               std::string(what) + " is " + file_type_name(st.st_mode) +
                                   ", not a directory (refused: it must be a real directory)");
        return os_error(err, component, full, "cannot open " + std::string(what));
    }
    if (created && ::fchmod(fd.get(), mode) != 0) return os_error(errno, component, full, "cannot set the mode of " + std::string(what));
    return fd;
}

}  // namespace detail
ROWCAST_NAMESPACE_END
