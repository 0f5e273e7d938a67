// rowcast/udf/spool_output.hpp: where the loadable functions put their events:
// a spool_writer over the codec the config names (docs/udf.md, docs/spool.md).
//
// `spool_output<Codecs...>` holds one spool_writer for whichever of `Codecs`
// has `C::name == config.codec`; the caller lists the codecs it is built with
// (the json and yaml codecs need the rowcast::json / rowcast::yaml components),
// e.g. `udf::spool_output<binary_codec, json_codec>`.
//
// Errors: open() returns "[rowcast.udf.unsupported] <config file>: codec yaml is
// not built in (built in: binary, json)" for a codec not in the list, and the
// spool writer's io_error (directory missing or not writable) as is; write()
// returns the spool writer's error.
//
// `shared_output<Codecs...>` keeps one config and spool_output for the whole process,
// made again only when the config file's text changes or the spool directory at its path
// is no longer the one opened; the loadable functions take it at each statement's init
// instead of reading the config and opening the spool every time (docs/performance.md,
// "The trigger path inside the server"). get(path, statement) looks at the file once per
// server statement on each thread (and at least once a second): inside a trigger the
// init runs for every row, and a 100-row INSERT then costs one stat(), not 100.
//
// Thread-safety: write() may be called from several threads at once (as
// spool_writer::write); open() on its arguments only; shared_output::get() from any thread.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/transport/spool_writer.hpp>
#include <rowcast/udf/config.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <sys/stat.h>
#include <time.h>

ROWCAST_NAMESPACE_BEGIN
namespace udf {

template <event_codec... Codecs>
    requires(sizeof...(Codecs) > 0)
class spool_output {
public:
    /// Opens the spool writer for `c.codec` on `c.spool_directory` with the config's
    /// durability and file mode.
    static result<spool_output> open(const config& c) {
        std::optional<result<spool_output>> out;
        (try_open<Codecs>(c, out), ...);
        if (out) return std::move(*out);
        std::string built;
        ((built += (built.empty() ? "" : ", "), built += Codecs::name), ...);
        return error::make(errc::unsupported, "udf", c.file,
                           "codec " + c.codec + " is not built in (built in: " + built + ")");
    }

    /// Encodes `e` and writes it into the spool (one file).
    result<void> write(const event& e) {
        return std::visit(
            [&](auto& w) -> result<void> {
                auto r = w.write(e);
                if (!r) return std::move(r.error_value());
                return {};
            },
            writer_);
    }

    /// The codec in use ("json", "yaml", "binary").
    std::string_view codec_name() const noexcept { return codec_name_; }

    /// The open spool directory (valid while this output lives).
    int directory_fd() const noexcept {
        return std::visit([](const auto& w) { return w.directory_fd(); }, writer_);
    }

private:
    using writer_variant = std::variant<spool_writer<Codecs>...>;
    spool_output(writer_variant w, std::string_view name) : writer_(std::move(w)), codec_name_(name) {}

    template <class Codec>
    static void try_open(const config& c, std::optional<result<spool_output>>& out) {
        if (out || c.codec != Codec::name) return;
        auto w = spool_writer<Codec>::open({c.spool_directory, c.durability, c.file_mode});
        if (!w) out.emplace(std::move(w.error_value()));
        else out.emplace(spool_output(writer_variant(std::in_place_type<spool_writer<Codec>>, std::move(*w)),
                                     Codec::name));
    }

    writer_variant writer_;
    std::string_view codec_name_;
};

/// The server statement a loadable function's init runs for: the session (MariaDB: its THD)
/// and the statement's start on the server's microsecond interval timer (thd_start_utime(),
/// the same for every row of a statement, triggers included); rowcast_udf.cpp.
/// `session == nullptr`: not known.
struct statement_id {
    const void* session = nullptr;
    std::uint64_t start_us = 0;
    bool operator==(const statement_id&) const noexcept = default;
};

/// The config and spool output of every statement in the process (the loadable functions'
/// per-statement init calls get()), made again only when the config file's text changes or
/// its spool (or journal) directory is no longer the directory that was opened (renamed,
/// removed, replaced). Holders of an older state keep it alive until they release it. get(path) costs
/// a stat() of the file and of the spool or journal directory; it reads the file's text again while the
/// file changed less than a second before the last read (coarse timestamps), or when its
/// inode, size, mtime or ctime differ from what that read saw. get(path, statement) does
/// that once per statement and thread (see there).
///
/// Errors: get() returns load_config()'s and spool_output::open()'s errors; nothing is
/// cached then, so the next get() tries again.
/// Thread-safety: get() may be called from any number of threads; a state's output is
/// written from several threads at once (spool_output::write()).
template <event_codec... Codecs>
class shared_output {
public:
    struct state {
        config cfg;
        std::optional<spool_output<Codecs...>> out;  ///< empty when cfg.output is not spool (journal, udp, netlink)
        std::string text;  ///< the config file's text this state was made from
        /// The directory events go to as found when the state was made (st_dev, st_ino): the
        /// spool directory opened, or the journal directory (0 when it did not exist yet);
        /// 0 for the datagram outputs.
        dev_t dir_dev;
        ino_t dir_ino;
    };

    /// The state for the config file at `path` (see above).
    result<std::shared_ptr<state>> get(const std::string& path) {
        // Fast path: the file's identity, size and times are those seen when its text was
        // last read, and that read came a second or more after its last change (so a later
        // write shows in mtime even with coarse file-system timestamps): no need to read it.
        struct stat cs {};
        const bool have_stat = ::stat(path.c_str(), &cs) == 0;
        {
            std::lock_guard lock(mutex_);
            if (current_ && have_stat && settled_ && same_file(cs, seen_) && still_open(*current_)) return current_;
        }
        const auto read_at = std::chrono::system_clock::now();
        auto text = read_config_text(path);
        if (!text) return std::move(text.error_value());
        {
            std::lock_guard lock(mutex_);
            if (current_ && current_->text == *text && still_open(*current_)) {
                note_read(have_stat, cs, read_at);
                return current_;
            }
        }
        auto cfg = parse_config(*text, path);
        if (!cfg) return std::move(cfg.error_value());
        std::optional<spool_output<Codecs...>> out;
        struct stat st {};
        if (cfg->output == config::output_kind::spool) {  // udp / netlink: udf/datagram_output.hpp, no spool
            auto o = spool_output<Codecs...>::open(*cfg);
            if (!o) return std::move(o.error_value());
            if (::fstat(o->directory_fd(), &st) != 0)
                return detail::os_error(errno, "udf", cfg->spool_directory, "cannot stat spool directory");
            out.emplace(std::move(*o));
        } else if (cfg->output == config::output_kind::journal && ::stat(cfg->journal_directory.c_str(), &st) != 0) {
            st = {};  // not made yet (the journal writer makes it): seen as replaced once it exists
        }
        auto s = std::make_shared<state>(state{std::move(*cfg), std::move(out), std::move(*text), st.st_dev, st.st_ino});
        std::lock_guard lock(mutex_);
        current_ = s;
        note_read(have_stat, cs, read_at);
        return s;
    }

    /// get(path), looked at once per statement on the calling thread: while `statement` is the
    /// statement of this thread's previous successful call (same object, same path, no reset()
    /// since) and that call looked at the file less than `max_age` ago, the state it returned is
    /// returned again, without a system call or a lock. So a change of the file (or of the spool or
    /// journal directory) takes effect at the next statement, and within `max_age` inside a statement that
    /// lasts longer. `statement.session` null (the server does not say) always calls get(path).
    /// Inside a trigger the init runs for every row (docs/performance.md): a 100-row INSERT looks
    /// at the file once. The age is measured on CLOCK_MONOTONIC_COARSE (vDSO: no system call;
    /// resolution a few ms).
    result<std::shared_ptr<state>> get(const std::string& path, const statement_id& statement,
                                       std::chrono::milliseconds max_age = std::chrono::seconds(1)) {
        struct last_check {
            std::uint64_t owner = 0, generation = 0;  // id_ and generation_ of the object asked
            statement_id statement;                    // the previous call's statement
            std::int64_t checked_ns = 0;               // when get(path) ran (coarse monotonic clock)
            std::string path;
            std::shared_ptr<state> st;                 // what it returned
        };
        thread_local last_check last;
        const std::int64_t now = coarse_now_ns();
        const std::uint64_t generation = generation_.load(std::memory_order_acquire);
        if (statement.session != nullptr && statement == last.statement && last.st && last.owner == id_ &&
            last.generation == generation && now - last.checked_ns < std::chrono::nanoseconds(max_age).count() &&
            last.path == path)
            return last.st;
        auto r = get(path);
        if (!r) {
            last.st.reset();
            return r;
        }
        last.owner = id_;
        last.generation = generation;
        last.statement = statement;
        last.checked_ns = now;
        last.path.assign(path);
        last.st = *r;
        return r;
    }

    /// Drops the cached state (the next get() reads and opens again, with or without a statement).
    void reset() {
        std::lock_guard lock(mutex_);
        current_.reset();
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }

    /// One per process (per loaded library), never destroyed (see column_cache::process_wide()).
    static shared_output& process_wide() {
        alignas(shared_output) static unsigned char storage[sizeof(shared_output)];
        static shared_output* const p = std::construct_at(reinterpret_cast<shared_output*>(storage));
        return *p;
    }

private:
    static bool same_file(const struct stat& a, const struct stat& b) noexcept {
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
               a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
               a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
    }

    // After a read of the text (under mutex_): what the file looked like just before it.
    void note_read(bool have_stat, const struct stat& st, std::chrono::system_clock::time_point read_at) noexcept {
        if (!have_stat) {
            settled_ = false;
            return;
        }
        const auto changed = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(std::max(st.st_mtim.tv_sec, st.st_ctim.tv_sec)) + std::chrono::seconds(2)));
        settled_ = read_at >= changed;
        seen_ = st;
    }

    // The directory events go to is still the one at its path (a journal's is compared with
    // what the state saw; the journal output compares it with its writer's, journal_output.hpp).
    static bool still_open(const state& s) noexcept {
        const bool journal = s.cfg.output == config::output_kind::journal;
        if (!s.out && !journal) return true;  // datagram outputs: no directory to watch
        struct stat st {};
        return ::stat((journal ? s.cfg.journal_directory : s.cfg.spool_directory).c_str(), &st) == 0 &&
               st.st_dev == s.dir_dev && st.st_ino == s.dir_ino;
    }

    static std::int64_t coarse_now_ns() noexcept {
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    }
    static std::uint64_t next_id() noexcept {
        static std::atomic<std::uint64_t> ids{0};
        return ids.fetch_add(1, std::memory_order_relaxed) + 1;
    }

    const std::uint64_t id_ = next_id();          // tells objects apart in get(path, statement)'s thread cache
    std::atomic<std::uint64_t> generation_{0};    // reset()s so far
    std::mutex mutex_;
    std::shared_ptr<state> current_;
    struct stat seen_ {};    // the config file as stat() saw it before the last read of its text
    bool settled_ = false;  // that read came >= 1 s after the file's last change (whole seconds + 2)
};

}  // namespace udf
ROWCAST_NAMESPACE_END
