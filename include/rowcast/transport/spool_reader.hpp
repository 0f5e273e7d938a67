// rowcast/transport/spool_reader.hpp: the spool consumer, driven by inotify.
//
// `spool_reader<Codec>` delivers the events of a spool directory (written by
// spool_writer or anything that renames whole files into it) to a handler:
//  - on open it queues the files already waiting; then it follows new ones
//    through inotify (files renamed or closed-after-write into the directory).
//    Names starting with '.' (temporary files) and sub-directories are ignored;
//  - files are delivered in name order (spool_writer's names sort in production
//    order); an inotify queue overflow triggers a full rescan, never a loss;
//  - at-least-once: a file is removed (or moved to `done_directory`) only after
//    the handler returned success. A failing handler is retried with exponential
//    backoff (retry_initial doubling up to retry_max), the same event first, so
//    nothing is skipped and order is kept. kill -9 at any moment: on restart the
//    files still there are delivered again;
//  - a file that does not decode (or holds more than one event, or does not look
//    like a spool file, or is larger than max_file_size), and anything that is not
//    a regular file (a symbolic link, a FIFO, a socket), is moved to
//    `quarantine_directory` next to a `<name>.reason` file (os/quarantine.hpp),
//    with a log line naming the file and the reason; the stream goes on. A file
//    that cannot be quarantined (e.g. the quarantine directory is a symbolic link:
//    refused) is kept and retried after a backoff, with the error logged;
//  - symbolic links are never followed and FIFOs never block: files are opened
//    relative to the directory's descriptor with O_NOFOLLOW|O_NONBLOCK and checked
//    with fstat before reading; done/ and quarantine/ are opened the same way;
//  - temporaries left by a writer that was killed mid-write (".….tmp", regular
//    files older than stale_temporary_age) are moved to the quarantine with a
//    reason and a log line (counted as `reclaimed`), at open and then every
//    stale_temporary_age / 2 at most;
//  - a missing spool directory is an error of open() (never created); the
//    directory being removed later is reported (log + `directory_lost()`); the
//    reader polls for it to reappear, then rescans and goes on.
//
// It is an event_source (pipeline/source.hpp): process(sink) hands batches of up
// to max_batch events to any event_sink; a sink's error is returned by process()
// with the files kept, in order, for the next call (rowcast::run() retries
// transient errors after a backoff and stops on the others: nothing is skipped).
//
// Handlers (the callback form): either `R(const event&)` or, for batches of up to
// max_batch events, `R(std::span<const event>)`, where R is void (success unless it
// throws), bool (false: failure) or result<void>. An exception thrown by the handler
// counts as a failure (logged with what()). A failing handler is retried by the
// reader itself (see above). If the event has no source file, the reader fills
// `source.file` with the spool file's name.
//
// Driving it: `rowcast::run(reader, sink, stop_token)` or `run(handler,
// stop_token)` block until stopped; or, from your own poll/epoll loop, wait for
// `native_handle()` to be readable or `next_timeout()` to expire, then call
// `process(sink)` or `process(handler)`.
//
// Statistics: stats() (spool_reader_stats, visitable: rowcast/stats.hpp).
//
// Thread-safety: one thread at a time per reader. `run` may be stopped from
// another thread through the stop_token.
#pragma once

#include <rowcast/backoff.hpp>
#include <rowcast/codec/concept.hpp>
#include <rowcast/log.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/os/quarantine.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN

/// What happens to a file once its event has been handled.
enum class spool_after { remove, move_to_done };

struct spool_reader_options {
    std::filesystem::path directory;
    spool_after after = spool_after::remove;
    std::filesystem::path done_directory;        ///< default: <directory>/done
    std::filesystem::path quarantine_directory;  ///< default: <directory>/quarantine
    std::size_t max_batch = 64;                  ///< events per batch-handler call (>= 1)
    std::size_t max_file_size = 64u << 20;       ///< bytes; larger files are quarantined
    std::chrono::milliseconds retry_initial{100};  ///< handler retries: first wait (doubles per failure)
    std::chrono::milliseconds retry_max{30000};    ///< handler retries: longest wait
    std::chrono::milliseconds lost_directory_poll{500};
    /// When files show up while none were waiting, wait this long before delivering them,
    /// so that events written together (a transaction, a burst) go out as one batch; 0: deliver
    /// at once. A latency/batching trade-off (rowcast-dns: spool.batch_delay_ms).
    std::chrono::milliseconds gather{0};
    /// Temporaries (".….tmp") older than this (by modification time) are moved to the
    /// quarantine; 0 disables. Far longer than any write takes.
    std::chrono::seconds stale_temporary_age{3600};
    /// Log sink (component "spool"); default: the process-wide hook (rowcast/log.hpp).
    log_sink log;
};

/// Counters since open().
struct spool_reader_stats {
    std::uint64_t delivered = 0;    ///< events handed to a handler that returned success
    std::uint64_t quarantined = 0;  ///< files moved to quarantine
    std::uint64_t failures = 0;     ///< handler failures (each is retried)
    std::uint64_t rescans = 0;      ///< full directory scans (open, overflow, directory back)
    std::uint64_t reclaimed = 0;    ///< stale temporaries moved to quarantine
    std::uint64_t pending = 0;      ///< gauge: files known and not yet delivered

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("delivered", delivered, "events handed to the sink or handler successfully"));
        v(detail::counter("quarantined", quarantined, "files moved to quarantine"));
        v(detail::counter("failures", failures, "sink or handler failures (each is retried)"));
        v(detail::counter("rescans", rescans, "full directory scans"));
        v(detail::counter("reclaimed", reclaimed, "stale temporary files moved to quarantine"));
        v(detail::gauge("pending", static_cast<std::int64_t>(pending), "files known and not yet delivered"));
    }
};

/// Checks, creating nothing, what spool_reader::open() needs (for a program's --check): the
/// spool directory exists and is a directory ("[rowcast.spool.io_error] <dir>: cannot open spool
/// directory: No such file or directory"), and the quarantine directory is a real directory or
/// can be created (quarantine::check()). Fills in the default done and quarantine directories.
inline result<void> check_spool_directory(spool_reader_options& opt) {
    if (opt.done_directory.empty()) opt.done_directory = opt.directory / "done";
    if (opt.quarantine_directory.empty()) opt.quarantine_directory = opt.directory / "quarantine";
    const std::string dir = opt.directory.string();
    detail::unique_fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) return detail::os_error(errno, "spool", dir, "cannot open spool directory");
    return quarantine(opt.quarantine_directory).check();
}

template <class H>
concept spool_batch_handler = std::invocable<H&, std::span<const event>>;
template <class H>
concept spool_event_handler = std::invocable<H&, const event&>;


template <event_codec Codec>
class spool_reader {
public:
    using clock = std::chrono::steady_clock;

    /// Opens the directory, starts watching it and queues the files already there.
    /// Errors: check()'s, then io_error for inotify or the first scan.
    static result<spool_reader> open(spool_reader_options opt, Codec codec = Codec{}) {
        if (opt.max_batch == 0) opt.max_batch = 1;
        if (auto ok = check(opt); !ok) return ok.error_value();
        spool_reader r(std::move(opt), std::move(codec));
        r.state_->inotify.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!r.state_->inotify) return detail::os_error(errno, "spool", "inotify_init1", "cannot create inotify instance");
        r.state_->wake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!r.state_->wake) return detail::os_error(errno, "spool", "eventfd", "cannot create eventfd");
        if (auto ok = r.attach(); !ok) return ok.error_value();
        return r;
    }

    /// check_spool_directory(opt) (below).
    static result<void> check(spool_reader_options& opt) { return check_spool_directory(opt); }

    /// Descriptor that becomes readable when new files may have arrived (inotify).
    int native_handle() const noexcept { return state_->inotify.get(); }

    /// How long the caller's loop may sleep before calling process() again even
    /// if native_handle() stays quiet: a retry backoff, a gather wait, the lost-directory poll, or the
    /// next sweep of stale temporaries (stale_temporary_age / 2 apart).
    /// -1 ms means "no deadline, wait for the descriptor".
    std::chrono::milliseconds next_timeout() const {
        auto& s = *state_;
        if (s.watch < 0) return s.options.lost_directory_poll;
        const auto now = clock::now();
        auto until = [&](clock::time_point t) {
            return t <= now ? std::chrono::milliseconds(0) : std::chrono::ceil<std::chrono::milliseconds>(t - now);
        };
        const auto sweep = s.next_sweep == clock::time_point::max() ? std::chrono::milliseconds(-1) : until(s.next_sweep);
        if (s.pending.empty()) return sweep;
        const auto retry = until(std::max(s.retry_at, s.gather_until));
        return sweep.count() < 0 ? retry : std::min(retry, sweep);
    }

    /// Non-blocking step: reads inotify, then delivers every queued event whose
    /// turn has come (stops at the first handler failure, which is retried after
    /// the backoff). Returns the number of events delivered; an error only for
    /// conditions the reader cannot work around (e.g. quarantine not writable).
    template <class Handler>
        requires spool_batch_handler<Handler> || spool_event_handler<Handler>
    result<std::size_t> process(Handler&& handler) {
        return step([&](std::span<const event> batch) -> result<void> {
            if constexpr (spool_batch_handler<Handler>) return detail::invoke_to_result("spool", "handler", handler, batch);
            else return detail::invoke_to_result("spool", "handler", handler, batch.front());
        }, spool_batch_handler<Handler> ? s_max_batch() : 1, true);
    }

    /// event_source step: delivers the queued events whose turn has come to `sink`, in
    /// batches of up to max_batch, each written and then flushed before its files are
    /// removed (a sink that writes asynchronously, e.g. nats::producer, has them stored by
    /// then: a kill -9 after the removal loses nothing). Returns how many; a sink error is
    /// returned as it is, the batch's files kept for the next call (no backoff of its own:
    /// the caller's).
    template <event_sink Sink>
    result<std::size_t> process(Sink& sink) {
        return step([&](std::span<const event> batch) -> result<void> {
            if (auto w = sink.write(batch); !w) return w;
            return sink.flush();
        }, s_max_batch(), false);
    }

    /// event_source: runs rowcast::run(*this, sink, stop, opt).
    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop, const run_options& opt = {}) {
        return rowcast::run(*this, sink, std::move(stop), opt);
    }

    /// event_source: a spool is never done (it waits for new files).
    bool done() const noexcept { return false; }

private:
    std::size_t s_max_batch() const noexcept { return state_->options.max_batch; }

    template <class Deliver>
    result<std::size_t> step(Deliver&& deliver, std::size_t limit, bool own_retry) {
        auto& s = *state_;
        if (s.watch < 0) {
            if (auto ok = attach(); !ok) return std::size_t{0};  // still missing: logged once
        }
        // The directory is open only inside process(): an open descriptor would keep a
        // removed directory's inode alive and so hide its removal (no IN_DELETE_SELF).
        s.dir.reset(::open(s.dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        struct dir_closer {
            state& st;
            ~dir_closer() { st.dir.reset(); }
        } closer{s};
        if (!s.dir) {
            lose_directory("cannot be opened any more");
            return std::size_t{0};
        }
        const bool was_empty = s.pending.empty();
        drain_inotify();
        if (was_empty && !s.pending.empty() && s.options.gather.count() > 0) s.gather_until = clock::now() + s.options.gather;
        if (clock::now() >= s.next_sweep && s.watch >= 0) {
            if (auto r = scan(false); !r) log(log_level::error, r.error_value().message);
        }
        std::size_t delivered = 0;
        while (!s.pending.empty() && s.watch >= 0) {
            if (clock::now() < s.retry_at || clock::now() < s.gather_until) break;
            auto r = deliver_one_batch(deliver, limit, own_retry);
            if (!r) {
                if (delivered > 0) break;  // report what went; the failure comes back on the next call
                return r.error_value();
            }
            if (*r == 0 && s.retry_at > clock::now()) break;  // failed, backing off
            delivered += *r;
        }
        return delivered;
    }

public:
    /// Blocks, delivering events, until `stop` is requested. Returns an error
    /// only if process() does.
    template <class Handler>
        requires spool_batch_handler<Handler> || spool_event_handler<Handler>
    result<void> run(Handler&& handler, std::stop_token stop) {
        const int wake = state_->wake.get();
        std::stop_callback on_stop(stop, [wake] {
            const std::uint64_t one = 1;
            [[maybe_unused]] auto n = ::write(wake, &one, sizeof one);
        });
        while (!stop.stop_requested()) {
            auto r = process(handler);
            if (!r) return r.error_value();
            pollfd fds[2] = {{native_handle(), POLLIN, 0}, {wake, POLLIN, 0}};
            const auto t = next_timeout();
            const int n = ::poll(fds, 2, static_cast<int>(std::min<std::int64_t>(t.count(), 60000)));
            if (n < 0 && errno != EINTR) return detail::os_error(errno, "spool", "poll", "poll failed");
        }
        std::uint64_t v;
        [[maybe_unused]] auto n = ::read(wake, &v, sizeof v);
        return {};
    }

    /// Number of files known and not yet delivered.
    std::size_t pending() const noexcept { return state_->pending.size(); }
    bool directory_lost() const noexcept { return state_->watch < 0; }
    /// Counters since open() (a snapshot; the pending gauge is filled in).
    spool_reader_stats stats() const noexcept {
        spool_reader_stats st = state_->stats;
        st.pending = state_->pending.size();
        return st;
    }
    const spool_reader_options& options() const noexcept { return state_->options; }

private:
    struct state {
        spool_reader_options options;
        Codec codec;
        std::string dir_name;
        detail::unique_fd inotify;
        detail::unique_fd wake;
        detail::unique_fd dir;
        int watch = -1;
        bool lost_logged = false;
        std::set<std::string> pending;
        clock::time_point retry_at{};
        clock::time_point next_sweep = clock::time_point::max();  // of stale temporaries
        clock::time_point gather_until{};                          // options.gather after new arrivals
        rowcast::backoff retry;
        spool_reader_stats stats;
        std::vector<event> batch;
        std::vector<std::string> batch_names;
        std::string buffer;
    };

    spool_reader(spool_reader_options opt, Codec codec) : state_(std::make_unique<state>()) {
        state_->dir_name = opt.directory.string();
        state_->options = std::move(opt);
        state_->codec = std::move(codec);
        state_->retry = rowcast::backoff({.initial = state_->options.retry_initial, .max = state_->options.retry_max});
    }

    void log(log_level l, const std::string& m) const { rowcast::log(state_->options.log, l, "spool", m); }

    // (Re)opens the directory, adds the inotify watch and rescans.
    result<void> attach() {
        auto& s = *state_;
        detail::unique_fd dfd(::open(s.dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dfd) {
            auto e = detail::os_error(errno, "spool", s.dir_name, "cannot open spool directory");
            if (!s.lost_logged) log(log_level::error, e.message + "; waiting for it to appear");
            s.lost_logged = true;
            return e;
        }
        const int wd = ::inotify_add_watch(s.inotify.get(), s.dir_name.c_str(),
                                           IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF |
                                               IN_ONLYDIR | IN_EXCL_UNLINK);
        if (wd < 0) return detail::os_error(errno, "spool", s.dir_name, "cannot watch spool directory");
        if (s.lost_logged) log(log_level::info, "spool directory " + s.dir_name + " is back; rescanning");
        s.lost_logged = false;
        s.watch = wd;
        s.dir = std::move(dfd);
        auto r = scan(true);
        s.dir.reset();
        return r;
    }

    void lose_directory(const char* why) {
        auto& s = *state_;
        log(log_level::error, "spool directory " + s.dir_name + " " + why +
                                  "; events queued from it are dropped from memory (their files went with it); "
                                  "waiting for it to reappear");
        if (s.watch >= 0) ::inotify_rm_watch(s.inotify.get(), s.watch);
        s.watch = -1;
        s.dir.reset();
        s.pending.clear();
        s.lost_logged = true;
    }

    // Reads the directory: with `queue`, queues every visible file (a rescan); always, moves
    // stale temporaries to the quarantine (with a reason) and schedules the next such sweep.
    result<void> scan(bool queue) {
        auto& s = *state_;
        if (queue) ++s.stats.rescans;
        const auto age = s.options.stale_temporary_age;
        s.next_sweep = age.count() > 0 ? clock::now() + std::max<std::chrono::milliseconds>(age / 2, std::chrono::seconds(1))
                                       : clock::time_point::max();
        std::vector<std::string> temporaries;
        const int dup = ::dup(s.dir.get());
        if (dup < 0) return detail::os_error(errno, "spool", s.dir_name, "cannot scan spool directory");
        DIR* d = ::fdopendir(dup);
        if (!d) {
            ::close(dup);
            return detail::os_error(errno, "spool", s.dir_name, "cannot scan spool directory");
        }
        std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
        ::rewinddir(d);
        while (const dirent* ent = ::readdir(d)) {
            if (ent->d_name[0] == '.') {
                if (age.count() > 0 && std::string_view(ent->d_name).ends_with(".tmp") &&
                    (ent->d_type == DT_REG || ent->d_type == DT_UNKNOWN))
                    temporaries.emplace_back(ent->d_name);
                continue;
            }
            if (!queue || ent->d_type == DT_DIR) continue;
            if (ent->d_type == DT_UNKNOWN) {
                struct stat st {};
                if (::fstatat(s.dir.get(), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode)) continue;
            }
            s.pending.emplace(ent->d_name);
        }
        guard.reset();
        const auto cutoff = std::chrono::system_clock::now() - age;
        for (const auto& name : temporaries) {
            struct stat st {};
            if (::fstatat(s.dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
            const auto mtime = std::chrono::system_clock::time_point(
                std::chrono::duration_cast<std::chrono::system_clock::duration>(
                    std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
            if (mtime > cutoff) continue;
            const auto old = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - mtime);
            auto r = move_to_quarantine(name, name.substr(1),
                                        "stale temporary file (" + std::to_string(st.st_size) + " bytes, unchanged for " +
                                            std::to_string(old.count()) + " s, over stale_temporary_age " +
                                            std::to_string(age.count()) + " s): a writer was stopped mid-write");
            if (!r) log(log_level::error, r.error_value().message);  // kept; tried again at the next sweep
            else if (*r) ++s.stats.reclaimed;
        }
        return {};
    }

    void drain_inotify() {
        auto& s = *state_;
        alignas(inotify_event) char buf[16384];
        for (;;) {
            const ssize_t n = ::read(s.inotify.get(), buf, sizeof buf);
            if (n <= 0) break;  // EAGAIN: drained
            bool overflow = false, lost = false;
            for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
                inotify_event ev;
                std::memcpy(&ev, buf + off, sizeof ev);
                const char* name = buf + off + sizeof(inotify_event);
                off += static_cast<ssize_t>(sizeof(inotify_event) + ev.len);
                if (ev.mask & IN_Q_OVERFLOW) overflow = true;
                if (ev.wd != s.watch) continue;
                if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) lost = true;
                if ((ev.mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) && !(ev.mask & IN_ISDIR) && ev.len > 0 &&
                    name[0] != '.')
                    s.pending.emplace(name);
            }
            if (lost) {
                lose_directory("was removed or moved");
                return;
            }
            if (overflow) {
                log(log_level::warning, "inotify queue overflow on " + s.dir_name + "; rescanning the directory");
                if (auto r = scan(true); !r) log(log_level::error, r.error_value().message);
            }
        }
    }

    // Reads and decodes one file. Returns 1 (decoded into e), 0 (quarantined or vanished), or an error.
    result<int> load(const std::string& name, event& e) {
        auto& s = *state_;
        // Never follows a link, never blocks on a FIFO (O_NONBLOCK); the type is checked before reading.
        detail::unique_fd fd = detail::open_read_nofollow(s.dir.get(), name.c_str());
        struct stat st {};
        if (!fd) {
            const int err = errno;
            if (err == ENOENT) {
                log(log_level::warning, "spool file " + s.dir_name + "/" + name + " vanished before delivery");
                return 0;
            }
            if (::fstatat(s.dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
                return quarantine(name, std::string(detail::file_type_name(st.st_mode)) + ", not a spool file");
            return detail::os_error(err, "spool", s.dir_name + "/" + name, "cannot open spool file");
        }
        if (::fstat(fd.get(), &st) != 0)
            return detail::os_error(errno, "spool", s.dir_name + "/" + name, "cannot stat spool file");
        if (!S_ISREG(st.st_mode))
            return quarantine(name, std::string(detail::file_type_name(st.st_mode)) + ", not a spool file");
        if (static_cast<std::uint64_t>(st.st_size) > s.options.max_file_size)
            return quarantine(name, "file of " + std::to_string(st.st_size) + " bytes exceeds max_file_size " +
                                        std::to_string(s.options.max_file_size));
        s.buffer.resize(static_cast<std::size_t>(st.st_size));
        std::size_t got = 0;
        while (got < s.buffer.size()) {
            const ssize_t n = ::read(fd.get(), s.buffer.data() + got, s.buffer.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return detail::os_error(errno, "spool", s.dir_name + "/" + name, "cannot read spool file");
            if (n == 0) break;
            got += static_cast<std::size_t>(n);
        }
        s.buffer.resize(got);
        const std::string suffix = "." + std::string(std::string_view(Codec::name));
        if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            return quarantine(name, "foreign file: the name does not end in '" + suffix + "'");
        auto r = decode(s.codec, s.buffer);
        if (!r) return quarantine(name, r.error_value().message);
        e = std::move(*r);
        if (e.source.file.empty()) e.source.file = name;
        return 1;
    }

    // Moves a file that cannot be delivered into the quarantine (os/quarantine.hpp: the
    // reason beside it, names kept apart, an identical earlier entry not stored twice).
    result<int> quarantine(const std::string& name, const std::string& reason) {
        auto r = move_to_quarantine(name, name, reason);
        if (!r) return r.error_value();
        return 0;
    }

    // quarantine() under `as`; true if the file went to the quarantine (or was already there).
    result<bool> move_to_quarantine(const std::string& name, const std::string& as, const std::string& reason) {
        auto& s = *state_;
        const std::string from = s.dir_name + "/" + name;
        rowcast::quarantine q(s.options.quarantine_directory);
        auto r = q.move_in(s.dir.get(), name, as, reason);
        if (!r) {
            auto e = r.error_value();
            e.message += " (" + from + " is kept and will be tried again)";
            return e;
        }
        if (r->status == quarantine_status::source_missing) return false;
        if (r->status == quarantine_status::stored) ++s.stats.quarantined;
        log(log_level::error, "quarantined " + from + " -> " + r->path.string() + ": " + reason);
        return true;
    }

    result<void> retire(const std::string& name) {
        auto& s = *state_;
        if (s.options.after == spool_after::remove) {
            if (::unlinkat(s.dir.get(), name.c_str(), 0) != 0 && errno != ENOENT)
                return detail::os_error(errno, "spool", s.dir_name + "/" + name, "cannot remove delivered file");
            return {};
        }
        const std::string ddir = s.options.done_directory.string();
        auto dd = detail::open_private_directory(s.options.done_directory, true, 0750, "spool", "done directory");
        if (!dd) return dd.error_value();
        if (::renameat(s.dir.get(), name.c_str(), dd->get(), name.c_str()) != 0 && errno != ENOENT)
            return detail::os_error(errno, "spool", s.dir_name + "/" + name, "cannot move delivered file to " + ddir);
        return {};
    }

    // Loads up to max_batch events in name order and hands them to the handler.
    // Returns the number delivered (0 with retry_at in the future on failure).
    // With own_retry a failed delivery backs off (retry_at) and returns 0; without, the
    // delivery's error is returned (the files stay pending, in order).
    template <class Deliver>
    result<std::size_t> deliver_one_batch(Deliver& deliver, std::size_t limit, bool own_retry) {
        auto& s = *state_;
        s.batch.clear();
        s.batch_names.clear();
        for (auto it = s.pending.begin(); it != s.pending.end() && s.batch.size() < limit;) {
            event e;
            auto r = load(*it, e);
            if (!r) {
                log(log_level::error, r.error_value().message);
                backoff();
                return std::size_t{0};
            }
            if (*r == 0) {
                it = s.pending.erase(it);
                continue;
            }
            s.batch.push_back(std::move(e));
            s.batch_names.push_back(*it);
            ++it;
        }
        if (s.batch.empty()) return std::size_t{0};
        result<void> ok = deliver(std::span<const event>(s.batch));
        if (!ok) {
            ++s.stats.failures;
            if (!own_retry) return ok.error_value();  // the files stay pending, in order
            const std::string what = "handler failed for " + s.batch_names.front() +
                                     (s.batch.size() > 1 ? " (+" + std::to_string(s.batch.size() - 1) + " more)" : "") +
                                     ": " + ok.error_value().message;
            const auto wait = backoff();
            log(log_level::warning, what + "; retrying in " + std::to_string(wait.count()) + " ms");
            return std::size_t{0};
        }
        s.retry.reset();
        s.retry_at = {};
        s.stats.delivered += s.batch.size();
        for (const auto& n : s.batch_names) {
            if (auto r = retire(n); !r) {
                // Delivered but still on disk: it will be delivered again (at-least-once), after a backoff.
                log(log_level::error, r.error_value().message);
                backoff();
                return std::size_t{0};
            }
            s.pending.erase(n);
        }
        return s.batch.size();
    }

    std::chrono::milliseconds backoff() {
        auto& s = *state_;
        const auto wait = s.retry.next().value_or(s.options.retry_max);  // unlimited attempts: always a value
        s.retry_at = clock::now() + wait;
        return wait;
    }

    std::unique_ptr<state> state_;
};

/// How many events wait in a spool directory, counted by one bounded scan.
struct spool_count {
    std::size_t files = 0;  ///< visible entries that are not directories (what a reader would deliver)
    bool capped = false;    ///< the scan stopped at `limit`: there are at least `files`
};

/// Counts the files waiting in `directory` as a spool_reader would see them (names not
/// starting with '.', sub-directories left out), reading at most `limit` visible entries.
/// Errors: io_error naming the directory (missing, not readable). Thread-safe (reentrant).
inline result<spool_count> count_spool_files(const std::filesystem::path& directory, std::size_t limit) {
    const std::string dir = directory.string();
    detail::unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return detail::os_error(errno, "spool", dir, "cannot open spool directory");
    DIR* d = ::fdopendir(fd.get());
    if (!d) return detail::os_error(errno, "spool", dir, "cannot scan spool directory");
    const int dfd = fd.release();  // owned by `d` from here
    std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
    spool_count c;
    while (const dirent* ent = ::readdir(d)) {
        if (ent->d_name[0] == '.' || ent->d_type == DT_DIR) continue;
        if (ent->d_type == DT_UNKNOWN) {
            struct stat st {};
            if (::fstatat(dfd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode)) continue;
        }
        if (c.files == limit) {
            c.capped = true;
            break;
        }
        ++c.files;
    }
    return c;
}

ROWCAST_NAMESPACE_END
