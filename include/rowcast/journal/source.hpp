// rowcast/journal/source.hpp: the journal consumer, an event_source over the
// segments journal_writer appends to (docs/journal.md).
//
// `journal_source<Codec>` reads the segments of a journal directory in number order
// and delivers each record's event:
//  - its position is (segment, offset) (journal_position; offset 0 = before the
//    segment header). With a transactional_sink (checkpointed_sink over the pipeline's
//    checkpoint_file, pipeline/checkpointed_sink.hpp) it starts from the sink's
//    load_cursor() and publishes "journal_segment=<n>\njournal_offset=<bytes>" after each
//    batch: a restart neither loses nor repeats an event. Without one it starts at the
//    oldest segment (at-least-once: after a restart the events of a segment that was
//    only partly delivered come again);
//  - a segment is removed (or moved to done_directory, as the spool reader does) once
//    every record in it was delivered, flushed and, with a transactional sink, the
//    cursor after it published, and the segment is no longer written (a later segment
//    exists or no writer holds journal.lock). A segment below the resume cursor is
//    removed without delivery (its events were delivered before the checkpoint);
//  - new data: inotify on the directory (native_handle()); while a record is incomplete
//    it also polls every tail_poll;
//  - bad input goes to the quarantine (os/quarantine.hpp, default <directory>/quarantine),
//    with a reason and a log line, and reading goes on — never silently skipped, never
//    waiting forever:
//      * a record whose payload does not match its CRC (seen twice, tail_poll apart, or
//        in a segment no longer written), or whose payload the codec cannot decode: the
//        record's bytes ("<segment>@<offset>"); reading goes on at the next record;
//      * an impossible length (0 or over max_record_size), or a torn tail (a partial
//        record) in a segment no longer written: the bytes from there to the segment's
//        end; reading goes on at the next segment. A partial record at the end of the
//        segment being written is waited for; an impossible length there is logged and
//        quarantined once the writer has moved on (rotation, restart or exit);
//      * a segment with a bad header (magic, version, checksum), or that is not a regular
//        file: the whole file is moved there;
//  - a segment of another codec is refused: process() returns unsupported (permanent),
//    naming the segment and both codecs; a resume cursor past the end of its segment is
//    refused as invalid_value.
// Symbolic links are never followed and FIFOs never block (os/detail/fd.hpp).
//
// Statistics: stats() (journal_source_stats, visitable: rowcast/stats.hpp).
// Thread-safety: one thread at a time per source; run() may be stopped from another
// thread through the stop_token.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/journal/detail/format.hpp>
#include <rowcast/log.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/os/quarantine.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/pipeline/source.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN

/// What happens to a segment once all its events were delivered (as spool_after).
enum class journal_after { remove, move_to_done };

struct journal_source_options {
    std::filesystem::path directory;             ///< must exist
    journal_after after = journal_after::remove;
    std::filesystem::path done_directory;        ///< default: <directory>/done
    std::filesystem::path quarantine_directory;  ///< default: <directory>/quarantine
    std::size_t max_batch = 256;                 ///< events per sink write (>= 1)
    std::uint32_t max_record_size = 64u << 20;   ///< bytes; a longer length is impossible
    std::chrono::milliseconds tail_poll{200};    ///< re-check period while a record is incomplete
    log_sink log;                                ///< component "journal"; default: rowcast::log
};

/// A place in a journal: the segment's number and a byte offset in it (0: before its header).
struct journal_position {
    std::uint64_t segment = 0;
    std::uint64_t offset = 0;
    friend bool operator==(const journal_position&, const journal_position&) = default;
};

/// "journal_segment=<n>\njournal_offset=<bytes>" (a checkpoint cursor, pipeline/checkpoint.hpp).
inline std::string to_cursor(const journal_position& p) {
    return "journal_segment=" + std::to_string(p.segment) + "\njournal_offset=" + std::to_string(p.offset);
}
/// Parses to_cursor()'s text; invalid_value naming the cursor otherwise.
inline result<journal_position> parse_journal_cursor(std::string_view c) {
    journal_position p;
    bool seg = false, off = false;
    while (!c.empty()) {
        const std::size_t nl = c.find('\n');
        const std::string_view line = c.substr(0, nl);
        c.remove_prefix(nl == std::string_view::npos ? c.size() : nl + 1);
        const std::size_t eq = line.find('=');
        const std::string_view key = line.substr(0, eq), val = eq == std::string_view::npos ? "" : line.substr(eq + 1);
        std::uint64_t* out = key == "journal_segment" ? (seg = true, &p.segment)
                             : key == "journal_offset" ? (off = true, &p.offset) : nullptr;
        if (!out) continue;  // keys of other layers are not ours
        const auto r = std::from_chars(val.data(), val.data() + val.size(), *out);
        if (val.empty() || r.ec != std::errc{} || r.ptr != val.data() + val.size())
            return error::make(errc::invalid_value, "journal", "cursor", "malformed '" + std::string(line) + "'");
    }
    if (!seg || !off)
        return error::make(errc::invalid_value, "journal", "cursor", "not a journal cursor (journal_segment= and journal_offset= needed)");
    return p;
}

/// Counters since open().
struct journal_source_stats {
    std::uint64_t delivered = 0;    ///< events written to the sink and flushed
    std::uint64_t quarantined = 0;  ///< records, tails or segments put in the quarantine
    std::uint64_t retired = 0;      ///< segments removed or moved to done/

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("delivered", delivered, "events written to the sink and flushed"));
        v(detail::counter("quarantined", quarantined, "records, torn tails or segments quarantined"));
        v(detail::counter("retired", retired, "segments removed or moved to done after delivery"));
    }
};

template <event_codec Codec>
class journal_source {
public:
    /// Opens the directory and starts watching it (io_error if missing or not watchable).
    static result<journal_source> open(journal_source_options opt, Codec codec = Codec{}) {
        if (opt.max_batch == 0) opt.max_batch = 1;
        if (opt.done_directory.empty()) opt.done_directory = opt.directory / "done";
        if (opt.quarantine_directory.empty()) opt.quarantine_directory = opt.directory / "quarantine";
        auto s = std::make_unique<state>();
        s->dir_name = opt.directory.string();
        s->dir.reset(::open(s->dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!s->dir) return detail::os_error(errno, "journal", s->dir_name, "cannot open journal directory");
        if (auto q = quarantine(opt.quarantine_directory).check(); !q) return q.error_value();
        s->inotify.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!s->inotify) return detail::os_error(errno, "journal", "inotify_init1", "cannot create inotify instance");
        if (::inotify_add_watch(s->inotify.get(), s->dir_name.c_str(),
                                IN_CREATE | IN_MODIFY | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0)
            return detail::os_error(errno, "journal", s->dir_name, "cannot watch journal directory");
        s->options = std::move(opt);
        s->codec = std::move(codec);
        return journal_source(std::move(s));
    }

    /// event_source: readable when the directory changed (inotify).
    int native_handle() const noexcept { return state_->inotify.get(); }
    /// event_source: tail_poll while a record is incomplete or suspect, else -1 (inotify alone).
    std::chrono::milliseconds next_timeout() const noexcept {
        return state_->waiting ? state_->options.tail_poll : std::chrono::milliseconds(-1);
    }
    /// event_source: a journal is never done (it waits for new records).
    bool done() const noexcept { return false; }

    /// event_source step: delivers up to max_batch events (see the top of this header).
    /// A sink error is returned as it is; the position stays before the batch.
    template <event_sink Sink>
    result<std::size_t> process(Sink& sink) {
        auto& s = *state_;
        drain_inotify();
        if constexpr (transactional_sink<Sink>) {
            if (!s.resumed) {
                auto c = sink.load_cursor();
                if (!c) return c.error_value();
                if (*c) {
                    auto p = parse_journal_cursor(**c);
                    if (!p) return p.error_value();
                    s.pos = *p;
                    // Segments below the cursor were delivered before it was saved.
                    if (auto r = retire_before(s.pos.segment); !r) log(log_level::error, r.error_value().message);
                }
            }
        }
        s.resumed = true;
        s.waiting = false;
        s.batch.clear();
        journal_position read = s.pos;
        while (s.batch.size() < s.options.max_batch) {
            auto r = next(read);
            if (!r) return r.error_value();
            if (*r == step::wait) break;
        }
        if (read == s.pos) return std::size_t{0};
        if (!s.batch.empty()) {
            if (auto w = sink.write(std::span<const event>(s.batch)); !w) return w.error_value();
            if (auto f = sink.flush(); !f) return f.error_value();
        }
        if constexpr (transactional_sink<Sink>) {
            if (auto p = sink.publish(to_cursor(read)); !p) return p.error_value();
        }
        s.pos = read;
        s.stats.delivered += s.batch.size();
        if (auto r = retire_before(s.pos.segment); !r) log(log_level::error, r.error_value().message);
        return s.batch.size();
    }

    /// event_source: rowcast::run(*this, sink, stop, opt).
    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop, const run_options& opt = {}) {
        return rowcast::run(*this, sink, std::move(stop), opt);
    }

    /// The position after the last event delivered (and published).
    journal_position position() const noexcept { return state_->pos; }
    const journal_source_stats& stats() const noexcept { return state_->stats; }

private:
    enum class step { event, moved, wait };

    struct state {
        journal_source_options options;
        std::string dir_name;
        detail::unique_fd dir, inotify, file;
        std::uint64_t file_segment = 0;
        std::string file_name;
        journal_position pos;
        bool resumed = false, waiting = false;
        std::optional<journal_position> suspect;  // a checksum mismatch seen once, re-read after tail_poll
        std::optional<journal_position> logged;   // an impossible length already logged
        std::vector<event> batch;
        std::string buffer;
        Codec codec;
        journal_source_stats stats;
    };

    explicit journal_source(std::unique_ptr<state> s) : state_(std::move(s)) {}

    void log(log_level l, const std::string& m) const { rowcast::log(state_->options.log, l, "journal", m); }

    void drain_inotify() {
        alignas(inotify_event) char buf[4096];
        while (::read(state_->inotify.get(), buf, sizeof buf) > 0) {
        }
    }

    result<std::vector<std::uint64_t>> list() const {
        return detail::journal::list_segments(state_->dir.get(), state_->dir_name);
    }

    // True when segment n can grow no more: a later segment exists, or no writer holds the lock.
    result<bool> finished(std::uint64_t n) const {
        auto l = list();
        if (!l) return l.error_value();
        if (!l->empty() && l->back() > n) return true;
        detail::unique_fd lock(::openat(state_->dir.get(), detail::journal::lock_name.data(),
                                        O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
        if (!lock) return errno == ENOENT;  // no lock file: no writer ever ran here
        if (::flock(lock.get(), LOCK_SH | LOCK_NB) == 0) {
            ::flock(lock.get(), LOCK_UN);
            return true;
        }
        return false;
    }

    result<void> quarantine_bytes(std::uint64_t offset, std::uint64_t end, const std::string& why) {
        auto& s = *state_;
        const auto n = static_cast<std::size_t>(end - offset);
        std::string bytes(n, '\0');
        if (n > 0 && ::pread(s.file.get(), bytes.data(), n, static_cast<off_t>(offset)) != static_cast<ssize_t>(n))
            return detail::os_error(errno, "journal", s.dir_name + "/" + s.file_name, "cannot read bytes to quarantine");
        const std::string name = s.file_name + "@" + std::to_string(offset);
        const std::string reason = s.dir_name + "/" + s.file_name + " at byte " + std::to_string(offset) + ": " + why;
        auto r = rowcast::quarantine(s.options.quarantine_directory).store(name, bytes, reason);
        if (!r) return r.error_value();
        if (r->status == quarantine_status::stored) ++s.stats.quarantined;
        log(log_level::error, "quarantined " + std::to_string(n) + " bytes -> " + r->path.string() + ": " + reason);
        return {};
    }

    result<void> quarantine_file(const std::string& name, const std::string& why) {
        auto& s = *state_;
        const std::string reason = s.dir_name + "/" + name + ": " + why;
        auto r = rowcast::quarantine(s.options.quarantine_directory).move_in(s.dir.get(), name, name, reason);
        if (!r) return r.error_value();
        if (r->status == quarantine_status::stored) ++s.stats.quarantined;
        log(log_level::error, "quarantined " + s.dir_name + "/" + name + " -> " + r->path.string() + ": " + why);
        return {};
    }

    // One step from `read`: an event appended to the batch, a move (segment end, something
    // quarantined), or nothing to do until more bytes come.
    result<step> next(journal_position& read) {
        namespace fmt = detail::journal;
        auto& s = *state_;
        if (!s.file || s.file_segment != read.segment) {
            s.file.reset();
            auto l = list();
            if (!l) return l.error_value();
            const auto it = std::lower_bound(l->begin(), l->end(), read.segment);
            if (it == l->end()) return step::wait;
            if (*it != read.segment) read = {*it, 0};
            s.file_name = fmt::segment_name(*it);
            s.file = detail::open_read_nofollow(s.dir.get(), s.file_name.c_str());
            struct stat st {};
            const bool opened = static_cast<bool>(s.file);
            if (!opened && errno != ELOOP && errno != ENXIO)
                return detail::os_error(errno, "journal", s.dir_name + "/" + s.file_name, "cannot open journal segment");
            if (!opened || ::fstat(s.file.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
                s.file.reset();
                if (::fstatat(s.dir.get(), s.file_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) st.st_mode = 0;
                if (auto q = quarantine_file(s.file_name, std::string(detail::file_type_name(st.st_mode)) +
                                                               ", not a journal segment");
                    !q)
                    return q.error_value();
                read = {*it + 1, 0};
                return step::moved;
            }
            s.file_segment = *it;
        }
        struct stat st {};
        if (::fstat(s.file.get(), &st) != 0)
            return detail::os_error(errno, "journal", s.dir_name + "/" + s.file_name, "cannot stat journal segment");
        const auto size = static_cast<std::uint64_t>(st.st_size);
        auto leave = [&](const std::string& why) -> result<step> {  // quarantine the rest, go to the next segment
            if (auto q = quarantine_bytes(read.offset, size, why); !q) return q.error_value();
            read = {read.segment + 1, 0};
            return step::moved;
        };
        auto wait = [&]() -> result<step> {
            s.waiting = true;
            return step::wait;
        };
        if (read.offset == 0) {
            if (size < fmt::header_size) {
                auto f = finished(read.segment);
                if (!f) return f.error_value();
                if (!*f) return wait();
                return leave("segment shorter than its 16-byte header (its writer stopped while creating it)");
            }
            char h[fmt::header_size];
            if (::pread(s.file.get(), h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
                return detail::os_error(errno, "journal", s.dir_name + "/" + s.file_name, "cannot read segment header");
            const std::string problem = fmt::header_problem(std::string_view(h, sizeof h), Codec::name);
            if (!problem.empty()) {
                if (static_cast<std::uint8_t>(h[10]) != fmt::codec_id(Codec::name) && problem.starts_with("segment written"))
                    return error::make(errc::unsupported, "journal", s.dir_name + "/" + s.file_name, problem);
                s.file.reset();
                if (auto q = quarantine_file(s.file_name, problem); !q) return q.error_value();
                read = {read.segment + 1, 0};
                return step::moved;
            }
            read.offset = fmt::header_size;
            return step::moved;
        }
        if (read.offset > size)
            return error::make(errc::invalid_value, "journal", s.dir_name + "/" + s.file_name,
                               "resume offset " + std::to_string(read.offset) + " is past the segment's end (" +
                                   std::to_string(size) + " bytes): the cursor does not belong to this journal");
        if (read.offset == size) {
            auto f = finished(read.segment);
            if (!f) return f.error_value();
            if (!*f) return step::wait;
            read = {read.segment + 1, 0};
            return step::moved;
        }
        const std::uint64_t avail = size - read.offset;
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(
            avail, fmt::frame_size + static_cast<std::uint64_t>(s.options.max_record_size)));
        // The frame first, then exactly the record (never more than one record's bytes).
        s.buffer.resize(std::min<std::size_t>(want, fmt::frame_size));
        if (::pread(s.file.get(), s.buffer.data(), s.buffer.size(), static_cast<off_t>(read.offset)) !=
            static_cast<ssize_t>(s.buffer.size()))
            return detail::os_error(errno, "journal", s.dir_name + "/" + s.file_name, "cannot read journal record");
        auto rec = fmt::decode_record(s.buffer, s.options.max_record_size);
        if (rec.what == fmt::record_view::kind::partial && s.buffer.size() == fmt::frame_size &&
            avail >= fmt::frame_size + rec.length) {
            s.buffer.resize(fmt::frame_size + rec.length);
            if (::pread(s.file.get(), s.buffer.data(), s.buffer.size(), static_cast<off_t>(read.offset)) !=
                static_cast<ssize_t>(s.buffer.size()))
                return detail::os_error(errno, "journal", s.dir_name + "/" + s.file_name, "cannot read journal record");
            rec = fmt::decode_record(s.buffer, s.options.max_record_size);
        }
        using kind = fmt::record_view::kind;
        if (rec.what == kind::partial || rec.what == kind::bad_length) {
            auto f = finished(read.segment);
            if (!f) return f.error_value();
            const bool torn = rec.what == kind::partial;
            if (*f)
                return leave(torn ? "torn record (" + std::to_string(avail) + " bytes of " +
                                        (s.buffer.size() >= fmt::frame_size ? std::to_string(fmt::frame_size + rec.length)
                                                                            : std::string("more")) +
                                        ") at the end of a segment no longer written: its writer stopped mid-append"
                                  : "impossible record length " + std::to_string(rec.length) + " (limit " +
                                        std::to_string(s.options.max_record_size) + "): the rest of the segment cannot be framed");
            if (!torn && s.logged != read) {
                s.logged = read;
                log(log_level::error, s.dir_name + "/" + s.file_name + " at byte " + std::to_string(read.offset) +
                                          ": impossible record length " + std::to_string(rec.length) +
                                          "; the rest is quarantined once the writer leaves this segment");
            }
            return wait();
        }
        if (rec.what == kind::bad_checksum) {
            auto f = finished(read.segment);
            if (!f) return f.error_value();
            if (!*f && s.suspect != read) {  // perhaps read while being written: look again later
                s.suspect = read;
                return wait();
            }
            s.suspect.reset();
            if (auto q = quarantine_bytes(read.offset, read.offset + rec.size, "record checksum mismatch"); !q)
                return q.error_value();
            read.offset += rec.size;
            return step::moved;
        }
        auto e = decode(s.codec, rec.payload);
        if (!e) {
            if (auto q = quarantine_bytes(read.offset, read.offset + rec.size,
                                          "the payload does not decode: " + e.error_value().message);
                !q)
                return q.error_value();
        } else {
            s.batch.push_back(std::move(*e));
        }
        read.offset += rec.size;
        return e ? step::event : step::moved;
    }

    // Removes (or moves to done/) every segment numbered below `n`.
    result<void> retire_before(std::uint64_t n) {
        auto& s = *state_;
        auto l = list();
        if (!l) return l.error_value();
        for (std::uint64_t k : *l) {
            if (k >= n) break;
            if (s.file && s.file_segment == k) s.file.reset();
            const std::string name = detail::journal::segment_name(k);
            if (s.options.after == journal_after::remove) {
                if (::unlinkat(s.dir.get(), name.c_str(), 0) != 0 && errno != ENOENT)
                    return detail::os_error(errno, "journal", s.dir_name + "/" + name, "cannot remove delivered segment");
            } else {
                auto dd = detail::open_private_directory(s.options.done_directory, true, 0750, "journal", "done directory");
                if (!dd) return dd.error_value();
                if (::renameat(s.dir.get(), name.c_str(), dd->get(), name.c_str()) != 0 && errno != ENOENT)
                    return detail::os_error(errno, "journal", s.dir_name + "/" + name,
                                            "cannot move delivered segment to " + s.options.done_directory.string());
            }
            ++s.stats.retired;
        }
        return {};
    }

    std::unique_ptr<state> state_;
};

ROWCAST_NAMESPACE_END
