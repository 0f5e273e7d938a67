// rowcast/journal/writer.hpp: the journal producer: one append per event into a
// directory of segment files (docs/journal.md).
//
// `journal_writer<Codec>` encodes each event with `Codec` and appends it as one
// record to the current segment of a journal directory:
//     <directory>/0000000000000001.rcj, 0000000000000002.rcj, …   (16 hex digits)
//     segment = header (16 bytes: "RCJOURNL", version 1, codec id, CRC-32)
//               then records [u32 length LE][u32 CRC-32 of the payload LE][payload]
// One write() system call per record; the record buffer is reused (no allocation per
// event once it has grown to the largest event). Compared with the spool (one file per
// event: create, write, rename) this is the cheap path for the loadable function inside
// the database server (docs/performance.md, issue 22).
//
//  - open() takes an exclusive flock on <directory>/journal.lock: exactly one writer
//    process per directory; a second one fails with "[rowcast.journal.unavailable]
//    <dir>: another process is writing this journal (journal.lock is locked)". It then
//    ALWAYS starts a new segment (numbered after every segment there and the last one
//    recorded in the lock file, so numbers never repeat even when a reader removed them
//    all): a writer never appends after a torn tail a crash may have left;
//  - a segment is rotated when the next record would take it over segment_size (a
//    record larger than that gets a segment of its own);
//  - durability: none (write only: survives a crash of this process, not of the
//    machine), file (fdatasync after each record), file_and_directory (also fsync the
//    directory when a segment is created);
//  - files are created exclusively (O_EXCL|O_NOFOLLOW, mode file_mode whatever the
//    umask: os/detail/fd.hpp), so a planted symbolic link is never written through.
//
// Errors: open(): io_error naming the directory or file (missing, not writable), or
// unavailable (another writer). write(): io_error naming the segment and errno (ENOSPC…),
// limit_exceeded for an event encoding to more than max_record_size. A failed append is
// cut back off the segment (ftruncate); if that fails too the next write starts a new
// segment, so a reader never finds a good record after a torn one in the same segment.
//
// Thread-safety: write() may be called from any number of threads; appends are
// serialised by one mutex, and the order of the records is the order of the calls.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/journal/detail/format.hpp>
#include <rowcast/os/atomic_file.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN

/// How much a journal append waits for the disk (rowcast::durability, os/atomic_file.hpp).
using journal_durability = durability;

struct journal_writer_options {
    std::filesystem::path directory;                 ///< must exist (never created)
    journal_durability durability = journal_durability::file;  ///< see the top of this header
    mode_t file_mode = 0640;                         ///< of segments and the lock file (fchmod: umask-proof)
    std::uint64_t segment_size = std::uint64_t{64} << 20;  ///< bytes; rotate before exceeding it
    std::uint32_t max_record_size = 64u << 20;       ///< bytes of one encoded event (<= 1 GiB)
};

template <event_codec Codec>
class journal_writer {
public:
    /// Locks the directory and creates a new segment (see the top of this header).
    static result<journal_writer> open(journal_writer_options opt, Codec codec = Codec{}) {
        namespace fmt = detail::journal;
        if (opt.max_record_size == 0 || opt.max_record_size > fmt::max_length) opt.max_record_size = fmt::max_length;
        auto st = std::make_unique<state>();
        st->dir_name = opt.directory.string();
        st->dir.reset(::open(st->dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!st->dir) return detail::os_error(errno, "journal", st->dir_name, "cannot open journal directory");
        const std::string lock_path = st->dir_name + "/" + std::string(fmt::lock_name);
        st->lock = detail::create_exclusive(st->dir.get(), fmt::lock_name.data(), opt.file_mode);
        if (!st->lock && errno == EEXIST)
            st->lock.reset(::openat(st->dir.get(), fmt::lock_name.data(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
        if (!st->lock) return detail::os_error(errno, "journal", lock_path, "cannot open the journal's lock file");
        struct stat ls {};
        if (::fstat(st->lock.get(), &ls) != 0 || !S_ISREG(ls.st_mode))
            return error::make(errc::io_error, "journal", lock_path, "the lock file is not a regular file (refused)");
        // A reader probes the lock with a shared lock for a moment (journal_source): retry briefly.
        int tries = 0;
        while (::flock(st->lock.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno == EINTR) continue;
            if (errno != EWOULDBLOCK) return detail::os_error(errno, "journal", lock_path, "cannot lock the journal");
            if (++tries == 50)
                return error::make(errc::unavailable, "journal", st->dir_name,
                                   "another process is writing this journal (" + std::string(fmt::lock_name) +
                                       " is locked); one writer per directory");
            ::usleep(5000);
        }
        auto last = last_segment(st->dir.get(), st->dir_name, st->lock.get());
        if (!last) return last.error_value();
        st->segment = *last;
        st->options = std::move(opt);
        st->codec = std::move(codec);
        journal_writer w(std::move(st));
        if (auto r = w.new_segment(); !r) return r.error_value();
        return w;
    }

    /// event_sink: encodes `e` and appends it as one record.
    result<void> write(const event& e) {
        std::lock_guard lock(state_->mutex);
        auto& s = *state_;
        detail::journal::begin_record(s.buffer);
        s.codec.encode(e, s.buffer);
        return append_locked();
    }
    /// event_sink: one record per event, in order (under one lock: not interleaved with
    /// other threads' events); stops at the first failure (the events before it are written).
    result<void> write(std::span<const event> batch) {
        std::lock_guard lock(state_->mutex);
        for (const event& e : batch) {
            detail::journal::begin_record(state_->buffer);
            state_->codec.encode(e, state_->buffer);
            if (auto r = append_locked(); !r) return r;
        }
        return {};
    }
    /// event_sink: nothing is buffered in the process (each write() is as durable as the
    /// durability setting says when it returns).
    result<void> flush() { return {}; }

    /// Appends already encoded bytes (one event in this writer's codec) as one record.
    result<void> write_encoded(std::string_view bytes) {
        std::lock_guard lock(state_->mutex);
        detail::journal::begin_record(state_->buffer);
        state_->buffer.append(bytes);
        return append_locked();
    }

    /// The number of the segment being written.
    std::uint64_t segment() const {
        std::lock_guard lock(state_->mutex);
        return state_->segment;
    }
    /// Records appended by this writer.
    std::uint64_t records() const {
        std::lock_guard lock(state_->mutex);
        return state_->records;
    }
    const journal_writer_options& options() const noexcept { return state_->options; }
    const std::string& directory_name() const noexcept { return state_->dir_name; }
    /// The open journal directory (valid while the writer lives).
    int directory_fd() const noexcept { return state_->dir.get(); }

private:
    struct state {
        journal_writer_options options;
        std::string dir_name;
        detail::unique_fd dir, lock, file;
        std::string file_name;
        std::uint64_t segment = 0, size = 0, records = 0;
        bool broken = false;  // the current segment may end in a torn record: rotate first
        mutable std::mutex mutex;
        Codec codec;
        std::string buffer;
    };

    explicit journal_writer(std::unique_ptr<state> s) : state_(std::move(s)) {}

    // The highest segment number in the directory or recorded in the lock file (0: none).
    static result<std::uint64_t> last_segment(int dfd, const std::string& dir_name, int lock_fd) {
        std::uint64_t last = 0;
        char text[17] = {};
        if (::pread(lock_fd, text, 16, 0) == 16)
            if (auto n = detail::journal::parse_segment_name(std::string(text, 16) + std::string(detail::journal::suffix)))
                last = *n;
        auto listed = detail::journal::list_segments(dfd, dir_name);
        if (!listed) return listed.error_value();
        if (!listed->empty()) last = std::max(last, listed->back());
        return last;
    }

    result<void> new_segment() {
        namespace fmt = detail::journal;
        auto& s = *state_;
        const std::uint64_t n = s.segment + 1;
        const std::string name = fmt::segment_name(n);
        const std::string where = s.dir_name + "/" + name;
        // Record the number first: a reader that removes every segment must not make it come back.
        char text[17];
        std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(n));
        if (::pwrite(s.lock.get(), text, 16, 0) != 16)
            return detail::os_error(errno, "journal", s.dir_name + "/" + std::string(fmt::lock_name),
                                    "cannot record the segment number");
        detail::unique_fd fd = detail::create_exclusive(s.dir.get(), name.c_str(), s.options.file_mode);
        if (!fd) return detail::os_error(errno, "journal", where, "cannot create journal segment");
        const std::string header = fmt::make_header(Codec::name);
        if (int err = detail::write_all(fd.get(), header); err != 0) {
            fd.reset();
            ::unlinkat(s.dir.get(), name.c_str(), 0);
            return detail::os_error(err, "journal", where, "cannot write journal segment header");
        }
        if (s.options.durability != journal_durability::none && ::fdatasync(fd.get()) != 0)
            return detail::os_error(errno, "journal", where, "cannot fdatasync journal segment");
        if (s.options.durability == journal_durability::file_and_directory && ::fsync(s.dir.get()) != 0)
            return detail::os_error(errno, "journal", s.dir_name, "cannot fsync journal directory");
        s.file = std::move(fd);
        s.file_name = name;
        s.segment = n;
        s.size = header.size();
        s.broken = false;
        return {};
    }

    // Appends s.buffer (frame + payload) as one record; the caller holds the mutex.
    result<void> append_locked() {
        auto& s = *state_;
        const std::size_t payload = s.buffer.size() - detail::journal::frame_size;
        if (payload > s.options.max_record_size)
            return error::make(errc::limit_exceeded, "journal", s.dir_name,
                               "event of " + std::to_string(payload) + " bytes exceeds max_record_size " +
                                   std::to_string(s.options.max_record_size));
        detail::journal::finish_record(s.buffer);
        if (s.broken || (s.size > detail::journal::header_size && s.size + s.buffer.size() > s.options.segment_size))
            if (auto r = new_segment(); !r) return r;
        const int err = detail::write_all(s.file.get(), s.buffer);
        if (err == 0 && (s.options.durability == journal_durability::none || ::fdatasync(s.file.get()) == 0)) {
            s.size += s.buffer.size();
            ++s.records;
            return {};
        }
        const int e = err != 0 ? err : errno;
        // Cut a partial record off; if that fails, never append after it (rotate first).
        if (::ftruncate(s.file.get(), static_cast<off_t>(s.size)) != 0 ||
            ::lseek(s.file.get(), static_cast<off_t>(s.size), SEEK_SET) < 0)
            s.broken = true;
        return detail::os_error(e, "journal", s.dir_name + "/" + s.file_name,
                                err != 0 ? "cannot append to journal segment" : "cannot fdatasync journal segment");
    }

    std::unique_ptr<state> state_;  // stable address: writers are movable, the mutex is not
};

ROWCAST_NAMESPACE_END
