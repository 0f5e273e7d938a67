// rowcast/os/quarantine.hpp: a quarantine directory for events (or files) that
// cannot be delivered, each next to a "<name>.reason" file saying why.
//
// `quarantine q(dir)` names the directory; it is created (with its parents,
// mode 0750) by the first store()/move_in(). Each entry is two files:
//     <name>         the event's bytes (store) or the moved file (move_in)
//     <name>.reason  one line: the reason, e.g. an error message
// The reason is written first, the entry last, so a crash in between never
// leaves an entry without its reason. Names are kept apart: when <name> is
// taken by other content the entry becomes <name>-2, <name>-3, …; when it
// holds the very same bytes, nothing is written (status already_present), so a
// replay after a crash does not quarantine the same event twice.
//
// `name` must be a plain file name: not empty, no '/', not "." or "..", no NUL;
// quarantine_name() derives one from an event, quarantine_event() encodes and
// stores an event.
//
// Errors: result<quarantine_entry>; "[rowcast.quarantine.invalid_value] <name>:
// not a plain file name", "[rowcast.quarantine.io_error] <path>: <what>:
// <strerror>" (directory cannot be created, file cannot be written or moved).
// A move_in() whose source has vanished is not an error: status source_missing.
// Files are compared and copied in 64 KiB chunks, never read whole (a file may be
// in quarantine for being too large); a symbolic link is moved as the link.
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
        auto slot = free_slot(name, [&](int fd) { return same_as(fd, content); });
        if (!slot || slot->status == quarantine_status::already_present) return slot;
        if (auto r = write_reason(slot->path, reason); !r) return r.error_value();
        if (auto r = write_file(slot->path, content); !r) return r.error_value();
        return slot;
    }

    /// Moves the file `from` into the quarantine under `name` (or name-2, …) with `reason`.
    /// The source is renamed (same file system) when possible, else copied and removed. The
    /// file is never read into memory whole (it may be in quarantine for being too large).
    result<quarantine_entry> move_in(const std::filesystem::path& from, std::string_view name, std::string_view reason) {
        detail::unique_fd src(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!src) {
            if (errno == ENOENT) return quarantine_entry{{}, quarantine_status::source_missing};
            if (errno != ELOOP) return detail::os_error(errno, "quarantine", from.string(), "cannot open file to quarantine");
        }
        // A symbolic link is moved as the link (never followed): compared by nothing, stored anew.
        auto slot = free_slot(name, [&](int fd) { return src && same_files(fd, src.get()); });
        if (!slot) return slot;
        if (slot->status == quarantine_status::already_present) {
            if (::unlink(from.c_str()) != 0 && errno != ENOENT)
                return detail::os_error(errno, "quarantine", from.string(), "cannot remove file already in quarantine");
            return slot;
        }
        if (auto r = write_reason(slot->path, reason); !r) return r.error_value();
        if (::rename(from.c_str(), slot->path.c_str()) == 0) return slot;
        const int err = errno;
        if (err == ENOENT) {  // vanished meanwhile: no entry, so no reason either
            ::unlink(reason_path(slot->path).c_str());
            return quarantine_entry{{}, quarantine_status::source_missing};
        }
        if (err != EXDEV || !src) return detail::os_error(err, "quarantine", from.string(), "cannot move file to " + dir_.string());
        if (auto r = copy_file(src.get(), slot->path); !r) return r.error_value();
        if (::unlink(from.c_str()) != 0 && errno != ENOENT)
            return detail::os_error(errno, "quarantine", from.string(), "cannot remove file copied to quarantine");
        return slot;
    }

    /// The reason file of an entry: <path>.reason.
    static std::filesystem::path reason_path(const std::filesystem::path& entry) {
        return std::filesystem::path(entry.string() + ".reason");
    }

private:
    static constexpr std::size_t chunk = 65536;

    static bool plain_name(std::string_view n) noexcept {
        return !n.empty() && n != "." && n != ".." && n.find('/') == std::string_view::npos &&
               n.find('\0') == std::string_view::npos;
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

    // Creates the directory, then finds <name>, <name>-2, … not taken by other content.
    template <class Same>
    result<quarantine_entry> free_slot(std::string_view name, Same&& same) {
        if (!plain_name(name))
            return error::make(errc::invalid_value, "quarantine", std::string(name.substr(0, 80)), "not a plain file name");
        std::error_code ec;
        if (const auto parent = dir_.parent_path(); !parent.empty()) std::filesystem::create_directories(parent, ec);
        if (ec) return detail::os_error(ec.value(), "quarantine", dir_.string(), "cannot create quarantine directory");
        if (::mkdir(dir_.c_str(), 0750) != 0 && errno != EEXIST)
            return detail::os_error(errno, "quarantine", dir_.string(), "cannot create quarantine directory");
        std::filesystem::path p = dir_ / std::string(name);
        for (int n = 2;; ++n) {
            detail::unique_fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
            if (!fd && errno == ENOENT) return quarantine_entry{p, quarantine_status::stored};  // (a link: ELOOP, taken)
            if (fd && same(fd.get())) return quarantine_entry{p, quarantine_status::already_present};
            p = dir_ / (std::string(name) + "-" + std::to_string(n));
        }
    }

    result<void> copy_file(int src, const std::filesystem::path& to) {
        detail::unique_fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, file_mode_));
        if (!out) return detail::os_error(errno, "quarantine", to.string(), "cannot write quarantine file");
        if (::lseek(src, 0, SEEK_SET) != 0) return detail::os_error(errno, "quarantine", to.string(), "cannot rewind file to copy");
        std::string buf(chunk, '\0');
        for (;;) {
            const ssize_t n = read_some(src, buf.data(), chunk);
            if (n < 0) return detail::os_error(errno, "quarantine", to.string(), "cannot read file to copy");
            if (n == 0) return {};
            if (int err = detail::write_all(out.get(), std::string_view(buf.data(), static_cast<std::size_t>(n))); err != 0)
                return detail::os_error(err, "quarantine", to.string(), "cannot write quarantine file");
        }
    }

    result<void> write_reason(const std::filesystem::path& entry, std::string_view reason) {
        std::string line(reason);
        line += '\n';
        return write_file(reason_path(entry), line);
    }

    result<void> write_file(const std::filesystem::path& p, std::string_view data) {
        detail::unique_fd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, file_mode_));
        if (!fd) return detail::os_error(errno, "quarantine", p.string(), "cannot write quarantine file");
        if (int err = detail::write_all(fd.get(), data); err != 0)
            return detail::os_error(err, "quarantine", p.string(), "cannot write quarantine file");
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
