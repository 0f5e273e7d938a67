// rowcast/os/quarantine.hpp: a quarantine directory for events (or files) that
// cannot be delivered, each next to a "<name>.reason" file saying why.
//
// `quarantine q(dir)` names the directory; it is created (mode 0750, exactly) by
// the first store()/move_in() inside its parent, which must exist (a mistyped
// path is an error, never a new directory tree). Each entry is two files:
//     <name>         the event's bytes (store) or the moved file (move_in)
//     <name>.reason  one line: the reason, e.g. an error message
// The reason is written first, the entry last, so a crash in between never
// leaves an entry without its reason. Names are kept apart: when <name> is
// taken by other content the entry becomes <name>-2, <name>-3, …; when it
// holds the very same bytes, nothing is written (status already_present), so a
// replay after a crash does not quarantine the same event twice.
//
// Safe in a directory that another user can write (the quarantine usually sits
// in the spool, which the database server's account writes): the directory is
// opened with O_NOFOLLOW (a symbolic link or a file in its place is refused with
// an error, nothing is moved); every file is created relative to it with
// O_CREAT|O_EXCL|O_NOFOLLOW and its mode set exactly (fchmod: file_mode whatever
// the umask), so a planted symbolic or hard link is never written through; moves
// use renameat2(RENAME_NOREPLACE) from the source's directory descriptor; a
// source that is not a regular file (a FIFO, a socket, a symbolic link) is moved
// as it is, never opened or followed.
//
// `name` must be a plain file name: not empty, no '/', not "." or "..", no NUL;
// quarantine_name() derives one from an event, quarantine_event() encodes and
// stores an event.
//
// Errors: result<quarantine_entry>; "[rowcast.quarantine.invalid_value] <name>:
// not a plain file name", "[rowcast.quarantine.io_error] <path>: <what>:
// <strerror>" (directory missing parent, a link, cannot be created; file cannot
// be written or moved; a non-regular file cannot be moved across file systems).
// A move_in() whose source has vanished is not an error: status source_missing.
// Files are compared and copied in 64 KiB chunks, never read whole (a file may be
// in quarantine for being too large).
//
// Thread-safety: one thread at a time per directory (the free-name search and
// the write are not atomic against another writer in the same directory).
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN

enum class quarantine_status {
    stored,           ///< the entry and its reason were written
    already_present,  ///< an entry with the same bytes was there; nothing written
    source_missing,   ///< move_in: the file to move did not exist (any more); nothing written
};

/// Where an entry went and what happened.
struct quarantine_entry {
    std::filesystem::path path;  ///< <directory>/<name>[-N] (the reason is path + ".reason")
    quarantine_status status = quarantine_status::stored;
};

class quarantine {
public:
    /// `file_mode`: of the files written by store() and of the reason files.
    explicit quarantine(std::filesystem::path directory, mode_t file_mode = 0640)
        : dir_(std::move(directory)), file_mode_(file_mode) {}

    const std::filesystem::path& directory() const noexcept { return dir_; }

    /// Writes `content` as an entry under `name` (or name-2, …) with `reason`.
    result<quarantine_entry> store(std::string_view name, std::string_view content, std::string_view reason) {
        if (auto bad = check_name(name); !bad) return bad.error_value();
        auto qd = open_directory();
        if (!qd) return qd.error_value();
        for (int n = 1;; ++n) {
            const std::string slot = slot_name(name, n);
            const int taken = taken_by(qd->get(), slot, [&](int fd) { return same_as(fd, content); });
            if (taken == same) return quarantine_entry{dir_ / slot, quarantine_status::already_present};
            if (taken == other) continue;
            if (auto r = write_reason(qd->get(), slot, reason); !r) return r.error_value();
            detail::unique_fd out = detail::create_exclusive(qd->get(), slot.c_str(), file_mode_);
            if (!out && errno == EEXIST) {  // taken meanwhile: the next name
                ::unlinkat(qd->get(), (slot + ".reason").c_str(), 0);
                continue;
            }
            if (!out) return detail::os_error(errno, "quarantine", (dir_ / slot).string(), "cannot write quarantine file");
            if (int err = detail::write_all(out.get(), content); err != 0) {
                out.reset();
                ::unlinkat(qd->get(), slot.c_str(), 0);
                return detail::os_error(err, "quarantine", (dir_ / slot).string(), "cannot write quarantine file");
            }
            return quarantine_entry{dir_ / slot, quarantine_status::stored};
        }
    }

    /// Moves the file `from` into the quarantine under `name` (or name-2, …) with `reason`.
    /// The source is renamed (same file system) when possible, else copied and removed. The
    /// file is never read into memory whole (it may be in quarantine for being too large).
    /// `from`'s directory is opened by path; the file itself is never followed (see above).
    result<quarantine_entry> move_in(const std::filesystem::path& from, std::string_view name, std::string_view reason) {
        const std::string parent = from.has_parent_path() ? from.parent_path().string() : std::string(".");
        detail::unique_fd dfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dfd) {
            if (errno == ENOENT) return quarantine_entry{{}, quarantine_status::source_missing};
            return detail::os_error(errno, "quarantine", parent, "cannot open the directory of a file to quarantine");
        }
        return move_in(dfd.get(), from.filename().string(), name, reason);
    }

    /// move_in() of the file `from_name` in the open directory `from_dir` (the spool reader's
    /// descriptor: nothing is resolved by path in a directory another user may write).
    result<quarantine_entry> move_in(int from_dir, const std::string& from_name, std::string_view name,
                                     std::string_view reason) {
        if (auto bad = check_name(name); !bad) return bad.error_value();
        const auto missing = quarantine_entry{{}, quarantine_status::source_missing};
        struct stat st {};
        if (::fstatat(from_dir, from_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) return missing;
            return detail::os_error(errno, "quarantine", from_name, "cannot stat file to quarantine");
        }
        // Only a regular file is opened (to compare and, across file systems, to copy); anything
        // else is moved as it is: a link is not followed, a FIFO not opened.
        detail::unique_fd src;
        if (S_ISREG(st.st_mode)) {
            src = detail::open_read_nofollow(from_dir, from_name.c_str());
            if (!src && errno == ENOENT) return missing;
            if (src && (::fstat(src.get(), &st) != 0 || !S_ISREG(st.st_mode))) src.reset();  // swapped meanwhile
        }
        auto qd = open_directory();
        if (!qd) return qd.error_value();
        for (int n = 1;; ++n) {
            const std::string slot = slot_name(name, n);
            const int taken = taken_by(qd->get(), slot, [&](int fd) { return src && same_files(fd, src.get()); });
            if (taken == other) continue;
            if (taken == same) {
                if (::unlinkat(from_dir, from_name.c_str(), 0) != 0 && errno != ENOENT)
                    return detail::os_error(errno, "quarantine", from_name, "cannot remove file already in quarantine");
                return quarantine_entry{dir_ / slot, quarantine_status::already_present};
            }
            if (auto r = write_reason(qd->get(), slot, reason); !r) return r.error_value();
            const int err = rename_noreplace(from_dir, from_name, qd->get(), slot);
            if (err == 0) return quarantine_entry{dir_ / slot, quarantine_status::stored};
            if (err == EEXIST || err == ENOENT) ::unlinkat(qd->get(), (slot + ".reason").c_str(), 0);
            if (err == EEXIST) continue;  // taken meanwhile: the next name
            if (err == ENOENT) return missing;  // vanished meanwhile: no entry, so no reason either
            if (err != EXDEV) return detail::os_error(err, "quarantine", from_name, "cannot move file to " + dir_.string());
            if (!src)
                return error::make(errc::io_error, "quarantine", from_name,
                                   std::string(detail::file_type_name(st.st_mode)) + " cannot be moved to " + dir_.string() +
                                       " on another file system (quarantine it by hand)");
            if (auto r = copy_file(src.get(), qd->get(), slot); !r) return r.error_value();
            if (::unlinkat(from_dir, from_name.c_str(), 0) != 0 && errno != ENOENT)
                return detail::os_error(errno, "quarantine", from_name, "cannot remove file copied to quarantine");
            return quarantine_entry{dir_ / slot, quarantine_status::stored};
        }
    }

    /// The reason file of an entry: <path>.reason.
    static std::filesystem::path reason_path(const std::filesystem::path& entry) {
        return std::filesystem::path(entry.string() + ".reason");
    }

    /// Checks, without creating anything, that the quarantine can be used: the directory is a
    /// real directory (not a link), or is missing and its parent exists. The error says why not.
    result<void> check() const {
        struct stat st {};
        if (::lstat(dir_.c_str(), &st) == 0) {
            if (S_ISDIR(st.st_mode)) return {};
            return error::make(errc::io_error, "quarantine", dir_.string(),
                               std::string("quarantine directory is ") + detail::file_type_name(st.st_mode) +
                                   ", not a directory (refused: it must be a real directory)");
        }
        if (errno != ENOENT) return detail::os_error(errno, "quarantine", dir_.string(), "cannot stat quarantine directory");
        const auto parent = dir_.has_parent_path() ? dir_.parent_path() : std::filesystem::path(".");
        if (::stat(parent.c_str(), &st) != 0)
            return detail::os_error(errno, "quarantine", parent.string(), "the quarantine directory's parent is missing");
        if (!S_ISDIR(st.st_mode))
            return error::make(errc::io_error, "quarantine", parent.string(), "the quarantine directory's parent is not a directory");
        return {};
    }

private:
    static constexpr std::size_t chunk = 65536;
    static constexpr int free_slot = 0, same = 1, other = 2;

    static result<void> check_name(std::string_view n) {
        if (!n.empty() && n != "." && n != ".." && n.find('/') == std::string_view::npos &&
            n.find('\0') == std::string_view::npos)
            return {};
        return error::make(errc::invalid_value, "quarantine", std::string(n.substr(0, 80)), "not a plain file name");
    }

    static std::string slot_name(std::string_view name, int n) {
        return n == 1 ? std::string(name) : std::string(name) + "-" + std::to_string(n);
    }

    result<detail::unique_fd> open_directory() const {
        return detail::open_private_directory(dir_, true, 0750, "quarantine", "quarantine directory");
    }

    // Is `slot` free, or taken by the same content, or by other content? Opened without
    // following a link or blocking on a FIFO; anything but a regular file counts as other.
    template <class Same>
    static int taken_by(int qfd, const std::string& slot, Same&& is_same) {
        struct stat st {};
        if (::fstatat(qfd, slot.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? free_slot : other;
        if (!S_ISREG(st.st_mode)) return other;
        detail::unique_fd fd = detail::open_read_nofollow(qfd, slot.c_str());
        if (!fd) return errno == ENOENT ? free_slot : other;
        if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return other;
        return is_same(fd.get()) ? same : other;
    }

    // renameat2(RENAME_NOREPLACE), or plain renameat where the file system lacks it; 0 or errno.
    static int rename_noreplace(int from_dir, const std::string& from, int to_dir, const std::string& to) noexcept {
        if (::renameat2(from_dir, from.c_str(), to_dir, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
        if (errno != EINVAL && errno != ENOSYS) return errno;
        struct stat st {};
        if (::fstatat(to_dir, to.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return EEXIST;
        return ::renameat(from_dir, from.c_str(), to_dir, to.c_str()) == 0 ? 0 : errno;
    }

    // Reads up to n bytes (fewer only at the end of the file); -1 on error.
    static ssize_t read_some(int fd, char* buf, std::size_t n) noexcept {
        std::size_t got = 0;
        while (got < n) {
            const ssize_t r = ::read(fd, buf + got, n - got);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return -1;
            if (r == 0) break;
            got += static_cast<std::size_t>(r);
        }
        return static_cast<ssize_t>(got);
    }

    // Does the file open as `fd` hold exactly `content`? (Read in chunks.)
    static bool same_as(int fd, std::string_view content) {
        struct stat st {};
        if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != content.size()) return false;
        std::string buf(chunk, '\0');
        for (std::size_t at = 0;;) {
            const ssize_t n = read_some(fd, buf.data(), chunk);
            if (n < 0) return false;
            if (n == 0) return at == content.size();
            if (content.compare(at, static_cast<std::size_t>(n), buf.data(), static_cast<std::size_t>(n)) != 0) return false;
            at += static_cast<std::size_t>(n);
        }
    }

    // Do the two open files hold the same bytes? Reads `b` from its start (pread: its offset stays).
    static bool same_files(int a, int b) {
        struct stat sa {}, sb {};
        if (::fstat(a, &sa) != 0 || ::fstat(b, &sb) != 0 || sa.st_size != sb.st_size) return false;
        std::string ba(chunk, '\0'), bb(chunk, '\0');
        for (off_t at = 0;;) {
            const ssize_t na = read_some(a, ba.data(), chunk);
            ssize_t nb;
            while ((nb = ::pread(b, bb.data(), static_cast<std::size_t>(na < 0 ? 0 : na), at)) < 0 && errno == EINTR) {
            }
            if (na < 0 || nb != na) return false;
            if (na == 0) return true;
            if (std::memcmp(ba.data(), bb.data(), static_cast<std::size_t>(na)) != 0) return false;
            at += na;
        }
    }

    result<void> copy_file(int src, int qfd, const std::string& slot) {
        const std::string where = (dir_ / slot).string();
        detail::unique_fd out = detail::create_exclusive(qfd, slot.c_str(), file_mode_);
        if (!out) return detail::os_error(errno, "quarantine", where, "cannot write quarantine file");
        auto fail = [&](int err, std::string_view what) {
            out.reset();
            ::unlinkat(qfd, slot.c_str(), 0);
            return detail::os_error(err, "quarantine", where, what);
        };
        if (::lseek(src, 0, SEEK_SET) != 0) return fail(errno, "cannot rewind file to copy");
        std::string buf(chunk, '\0');
        for (;;) {
            const ssize_t n = read_some(src, buf.data(), chunk);
            if (n < 0) return fail(errno, "cannot read file to copy");
            if (n == 0) return {};
            if (int err = detail::write_all(out.get(), std::string_view(buf.data(), static_cast<std::size_t>(n))); err != 0)
                return fail(err, "cannot write quarantine file");
        }
    }

    // <slot>.reason, created exclusively; a stale one (a crash between reason and entry, or
    // something planted) is removed first: unlinkat removes a link, never what it points to.
    result<void> write_reason(int qfd, const std::string& slot, std::string_view reason) {
        const std::string name = slot + ".reason";
        const std::string where = (dir_ / name).string();
        ::unlinkat(qfd, name.c_str(), 0);
        detail::unique_fd fd = detail::create_exclusive(qfd, name.c_str(), file_mode_);
        if (!fd) return detail::os_error(errno, "quarantine", where, "cannot write quarantine reason file");
        std::string line(reason);
        line += '\n';
        if (int err = detail::write_all(fd.get(), line); err != 0) {
            fd.reset();
            ::unlinkat(qfd, name.c_str(), 0);
            return detail::os_error(err, "quarantine", where, "cannot write quarantine reason file");
        }
        return {};
    }

    std::filesystem::path dir_;
    mode_t file_mode_;
};

/// A plain file name for an event's quarantine entry: the file name of e.source.file, or
/// "event-<sequence>" when it has none (or it starts with '.').
inline std::string quarantine_name(const event& e) {
    std::string name = std::filesystem::path(e.source.file).filename().string();
    if (name.empty() || name[0] == '.') name = "event-" + std::to_string(e.sequence);
    return name;
}

/// Encodes `e` with `codec` and stores it under quarantine_name(e) with `reason`.
template <event_codec Codec>
result<quarantine_entry> quarantine_event(quarantine& q, Codec& codec, const event& e, std::string_view reason) {
    std::string bytes;
    codec.encode(e, bytes);
    return q.store(quarantine_name(e), bytes, reason);
}

ROWCAST_NAMESPACE_END
