// rowcast/os/atomic_file.hpp: small files replaced atomically (checkpoints, state),
// and how much a write waits for the disk.
//
// write_file_atomically(path, bytes, d): the bytes go to ".<name>.tmp" in the same
// directory, which is fsynced (unless d is none) and renamed over `path`; with
// file_and_directory the directory is fsynced too. After a kill -9 or a power loss
// (file_and_directory) at any instant, `path` holds the old or the new contents,
// whole. The temporary file is created exclusively (O_EXCL|O_NOFOLLOW: a planted
// link is never followed) with exactly `mode` (fchmod). read_small_file(path, max):
// the whole file, std::nullopt if it does not exist, an error if it cannot be read,
// is larger than `max` bytes, or is a symbolic link or not a regular file (refused,
// never followed or blocked on).
//
// Errors: io_error "[rowcast.<component>.io_error] <path>: <what>: <strerror>";
// limit_exceeded for a file over `max`. `component` names the caller in messages.
//
// Thread-safety: the functions are reentrant; two writers of one path must be
// serialised by the caller (they would share the temporary file).
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN

/// How much a write waits for the disk.
enum class durability {
    none,                ///< write + rename; no fsync (survives a crash of the process, not of the machine)
    file,                ///< fsync the file before renaming it into place
    file_and_directory,  ///< fsync the file, rename, fsync the directory (survives a power loss)
};

namespace detail {
/// Creates `name` in the directory `dfd` (named `dir` in errors) exclusively (create_exclusive:
/// O_EXCL|O_NOFOLLOW, exactly `mode`), writes `bytes`, fsyncs it if `sync`, and closes it. On failure the file is removed.
inline result<void> write_new_file(int dfd, const std::string& dir, const std::string& name,
                                   std::string_view bytes, mode_t mode, bool sync, std::string_view component = "spool") {
    unique_fd fd = create_exclusive(dfd, name.c_str(), mode);  // never through an existing name or link
    if (!fd) return os_error(errno, component, dir + "/" + name, "cannot create file");
    auto fail = [&](int err, std::string_view what) {
        fd.reset();
        ::unlinkat(dfd, name.c_str(), 0);
        return os_error(err, component, dir + "/" + name, what);
    };
    if (int err = write_all(fd.get(), bytes)) return fail(err, "cannot write file");
    if (sync && ::fsync(fd.get()) != 0) return fail(errno, "cannot fsync file");
    if (::close(fd.release()) != 0) {
        const int err = errno;
        ::unlinkat(dfd, name.c_str(), 0);
        return os_error(err, component, dir + "/" + name, "cannot close file");
    }
    return {};
}
}  // namespace detail

/// Replaces `path` with `bytes` atomically (see the top of this header).
inline result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes, durability d,
                                          mode_t mode = 0644, std::string_view component = "os") {
    const std::string where = path.string();
    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    const std::string dir_name = dir.string();
    detail::unique_fd dfd(::open(dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) return detail::os_error(errno, component, dir_name, "cannot open directory");
    const std::string tmp = "." + path.filename().string() + ".tmp";
    const std::string final_name = path.filename().string();
    ::unlinkat(dfd.get(), tmp.c_str(), 0);  // a temporary file left by a crash
    if (auto w = detail::write_new_file(dfd.get(), dir_name, tmp, bytes, mode, d != durability::none, component); !w)
        return w;
    if (::renameat(dfd.get(), tmp.c_str(), dfd.get(), final_name.c_str()) != 0) {
        const int err = errno;
        ::unlinkat(dfd.get(), tmp.c_str(), 0);
        return detail::os_error(err, component, where, "cannot rename file into place");
    }
    if (d == durability::file_and_directory && ::fsync(dfd.get()) != 0)
        return detail::os_error(errno, component, dir_name, "cannot fsync directory");
    return {};
}

/// The whole contents of `path`; std::nullopt if it does not exist (see the top of this header).
inline result<std::optional<std::string>> read_small_file(const std::filesystem::path& path, std::size_t max,
                                                          std::string_view component = "os") {
    const std::string where = path.string();
    detail::unique_fd fd = detail::open_read_nofollow(AT_FDCWD, where.c_str());
    if (!fd) {
        if (errno == ENOENT) return std::optional<std::string>{};
        if (errno == ELOOP)
            return error::make(errc::io_error, component, where, "is a symbolic link (refused; the file is kept)");
        return detail::os_error(errno, component, where, "cannot open file");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return detail::os_error(errno, component, where, "cannot stat file");
    if (!S_ISREG(st.st_mode))
        return error::make(errc::io_error, component, where,
                           std::string("is ") + detail::file_type_name(st.st_mode) + ", not a regular file (the file is kept)");
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return detail::os_error(errno, component, where, "cannot read file");
        }
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > max)
            return error::make(errc::limit_exceeded, component, where,
                               "file is larger than " + std::to_string(max) + " bytes (the file is kept)");
    }
    return std::optional<std::string>{std::move(text)};
}

ROWCAST_NAMESPACE_END
