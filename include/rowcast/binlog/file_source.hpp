// rowcast/binlog/file_source.hpp: binlog files as an event_source
// (pipeline/source.hpp): reader -> parser -> event_adapter -> any event_sink.
//
//   auto src = rowcast::binlog::file_source::open({.files = {"mariadb-bin.000001", "mariadb-bin.000002"}}).value();
//   auto out = rowcast::spool_writer<rowcast::json_codec>::open({.directory = "/var/spool/rowcast"}).value();
//   rowcast::result<void> r = rowcast::run(src, out, stop_token);   // returns when the files are done
//
// The files are read in the order given with one parser (a TABLE_MAP of one file
// stays known in the next, as in a server's binlog sequence). start_position: the
// events of the first file at offsets below it are parsed (FORMAT_DESCRIPTION,
// TABLE_MAP) but not delivered; stop_position: reading stops at the first event of
// the last file at an offset at or past it. Each process() call reads up to
// events_per_step binlog events (it never waits: files are always ready, so
// native_handle() is -1 and next_timeout() 0 until done()).
//
// With a transactional_sink (pipeline/sink.hpp; e.g. nats::producer, spool_sink) the
// source resumes from the sink's load_cursor() (binlog cursor: checkpoint.hpp
// to_cursor, "file=<name>\noffset=<n>": the position after a group) and calls
// publish(cursor) after every checkpoint_every groups (a commit, a rollback, a DDL
// outside a transaction) and at the end of the input, as the follower does: after a
// kill -9 the next run delivers only what came after the last published cursor. A
// cursor naming a file that is not among `files` is refused (invalid_value): the
// files given cannot say where to resume. start_position applies only without a cursor.
//
// A sink error: the files are read again from the start of the transaction that
// was being delivered (its begin event's offset; earlier events parsed, not
// delivered), so a retried process() delivers that transaction again from its
// first event: whole transactions at least once. A transactional sink is told to
// discard() the partial transaction first, so with one each transaction is
// delivered once. Decoding errors (a damaged file) are returned as they are
// (permanent: "[rowcast.binlog.<errc>] <file> at offset N: …"); so is a file that does
// not exist (errc::not_found). Other I/O errors are transient (io_error: run() retries).
//
// A file cut inside a transaction (its last events are a begin and rows, no commit;
// e.g. copied while the server wrote it, or truncated at an event boundary): the
// incomplete final transaction is reported by incomplete() once done(), with a
// warning through rowcast::log. Its rows are withheld by default
// (incomplete_policy::withhold: a transaction's events are held until its end is
// read, at most hold_events of them; a larger transaction is delivered as it is
// read, and if it then turns out cut it is closed by a rollback event whose cause is
// end_cause::interrupted, as with incomplete_policy::mark). incomplete_policy::mark
// delivers the rows as they come and ends the cut transaction with that rollback
// event ("interrupted": a reader drops the rows). Only the end of the input is
// checked: the last file given (a binlog transaction never spans files).
//
// Thread-safety: one thread at a time.
#pragma once

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/binlog/handler.hpp>
#include <rowcast/binlog/parser.hpp>
#include <rowcast/binlog/reader.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <filesystem>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// What a file_source does with a transaction the input ends inside (see the header comment).
enum class incomplete_policy {
    withhold,  ///< its events are not delivered (held until the transaction's end, which never comes)
    mark,      ///< its events are delivered, then a rollback event with end_cause::interrupted
};

/// The final transaction the input ended inside.
struct incomplete_transaction {
    std::string id;            ///< transaction id (GTID or "<file>:<offset>")
    std::string file;          ///< binlog file of its begin
    std::uint64_t offset = 0;  ///< offset of its begin
    std::uint64_t events = 0;  ///< row events (and DDL) of it that were read
    bool delivered = false;    ///< its events reached the sink (mark, or over hold_events), closed by a rollback "interrupted"
};

struct file_source_options {
    std::vector<std::string> files;          ///< binlog files, read in this order (at least one)
    parser_options parser;                   ///< also: verify_checksum, check_end_positions for the reader
    std::uint64_t start_position = 0;        ///< first file: deliver events at offsets >= this
    std::uint64_t stop_position = std::numeric_limits<std::uint64_t>::max();  ///< last file: stop at offsets >= this
    std::size_t events_per_step = 1024;      ///< binlog events read per process() call (>= 1)
    incomplete_policy incomplete = incomplete_policy::withhold;  ///< a transaction the input ends inside
    std::size_t hold_events = 100000;        ///< withhold: events of one transaction held at most (then delivered)
    std::size_t checkpoint_every = 1;        ///< transactional sink: publish() after this many groups (>= 1)
};

class file_source {
public:
    /// Checks the options; files are opened as they are reached (a missing one is an
    /// error from the process() that reaches it, naming it).
    static result<file_source> open(file_source_options o) {
        if (o.files.empty()) return error::make(errc::invalid_value, "binlog", "file_source", "no binlog file given");
        if (o.events_per_step == 0) o.events_per_step = 1;
        if (o.checkpoint_every == 0) o.checkpoint_every = 1;
        return file_source(std::move(o));
    }

    file_source(file_source&&) noexcept = default;
    file_source& operator=(file_source&&) noexcept = default;

    int native_handle() const noexcept { return -1; }
    std::chrono::milliseconds next_timeout() const noexcept { return std::chrono::milliseconds(done_ ? -1 : 0); }
    bool done() const noexcept { return done_; }

    /// Reads up to events_per_step binlog events, delivering their rowcast events to `sink`.
    template <event_sink Sink>
    result<std::size_t> process(Sink& sink) {
        if (done_) return std::size_t{0};
        if constexpr (transactional_sink<Sink>) {
            if (!started_) {
                if (auto r = resume_from(sink); !r) return r.error_value();
            }
        }
        started_ = true;
        std::size_t delivered = 0;
        st_->out = [&](const event& e) -> result<void> {
            if (e.kind == event_kind::begin || (e.kind == event_kind::ddl && !st_->in_txn)) st_->group_start = st_->event_at;
            auto r = sink.write(e);
            if (!r) return r;
            ++delivered;
            if (ends_group(e, st_->in_txn) && e.cause() != end_cause::interrupted) {
                if constexpr (transactional_sink<Sink>) {
                    after_group_ = {st_->file, ev_.offset + ev_.size};
                    if (++unsaved_ >= opt_.checkpoint_every) return publish(sink);
                }
            }
            return {};
        };
        for (std::size_t i = 0; i < opt_.events_per_step; ++i) {
            auto n = step();
            if (!n) {
                st_->out = nullptr;
                if (st_->sink_failed) {
                    st_->sink_failed = false;
                    if constexpr (transactional_sink<Sink>) {
                        if (auto d = sink.discard(); !d) return d.error_value();
                    }
                    rewind();
                }
                return n.error_value();
            }
            if (!*n) {
                auto r = st_->adapter.finish();
                if (r) r = end_of_input();
                if constexpr (transactional_sink<Sink>) {
                    if (r && unsaved_ > 0) r = publish(sink);
                }
                if (!r) {
                    st_->out = nullptr;
                    return r.error_value();
                }
                done_ = true;
                break;
            }
        }
        st_->out = nullptr;
        return delivered;
    }

    /// Blocking: rowcast::run(*this, sink, stop, opt).
    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop, const run_options& opt = {}) {
        return rowcast::run(*this, sink, std::move(stop), opt);
    }

    /// The parser's statistics, with xid_unknown from the event adapter (parser_options::hold_for_xid).
    parser_stats stats() const noexcept {
        parser_stats s = st_->decoder.stats();
        s.xid_unknown = st_->adapter.xid_unknown();
        return s;
    }

    /// Once done(): the transaction the input ended inside, if it did.
    const std::optional<incomplete_transaction>& incomplete() const noexcept { return incomplete_; }

private:
    struct position_mark {
        std::size_t file = 0;
        std::uint64_t offset = 0;
    };
    struct state;
    // The adapter's sink: forwards to the current process() call's sink; marks a failure.
    struct forward {
        state* s;
        result<void> operator()(const event& e);
    };
    struct state {
        explicit state(const parser_options& po) : decoder(po), adapter(forward{this}) {
            if (po.hold_for_xid) adapter.hold_for_xid(po.hold_max_bytes);
        }
        binlog::parser decoder;
        event_adapter<forward> adapter;
        std::function<result<void>(const event&)> out;
        std::optional<file_reader> reader;
        std::size_t file = 0;
        position_mark cur;          // the binlog event being fed
        position_mark group_start;  // begin (or standalone DDL) of the group being delivered
        position_mark resume;       // after a sink failure: deliver from here
        position_mark event_at;     // where the event being delivered was read (a held begin: its own)
        bool emitting = true;
        bool in_txn = false;
        bool sink_failed = false;
        // The open transaction (its begin seen, its end not yet), and its events held back.
        incomplete_policy policy = incomplete_policy::withhold;
        std::size_t hold_limit = 0;
        bool open = false;
        bool streaming = false;     // the open transaction's events go to the sink as they come
        event open_begin;
        position_mark open_at;
        std::uint64_t open_events = 0;
        std::vector<event> held;    // reused: assignment keeps the events' capacities
        std::size_t held_n = 0;

        result<void> deliver_held() {
            for (std::size_t i = 0; i < held_n; ++i) {
                event_at = i == 0 ? open_at : cur;
                if (auto r = out(held[i]); !r) return r;
            }
            held_n = 0;
            return {};
        }
        void hold(const event& e) {
            if (held_n == held.size()) held.push_back(e);
            else held[held_n] = e;
            ++held_n;
        }
    };

    explicit file_source(file_source_options o) : opt_(std::move(o)), st_(make_state()) {
        st_->resume = {0, opt_.start_position};
    }
    std::unique_ptr<state> make_state() const {
        auto s = std::make_unique<state>(opt_.parser);
        s->policy = opt_.incomplete;
        s->hold_limit = opt_.hold_events;
        return s;
    }

    // The input ended: a transaction still open is incomplete (withheld, or closed by a rollback marked interrupted).
    result<void> end_of_input() {
        auto& s = *st_;
        if (!s.open) return {};
        incomplete_transaction t;
        t.id = s.open_begin.transaction.id;
        t.file = s.open_begin.source.file;
        t.offset = s.open_begin.source.offset;
        t.events = s.open_events;
        t.delivered = s.streaming;
        if (s.streaming) {
            event rb = s.open_begin;
            rb.kind = event_kind::rollback;
            rb.statement = std::string(to_string(end_cause::interrupted));
            s.event_at = s.cur;
            if (auto r = s.out(rb); !r) return r;
        }
        s.open = false;
        s.held_n = 0;
        rowcast::log(log_level::warning, "binlog",
                     t.file + " at offset " + std::to_string(t.offset) + ": the input ends inside transaction " + t.id +
                         " (no commit): " + std::to_string(t.events) + " row/DDL events " +
                         (t.delivered ? "delivered, then a rollback marked \"interrupted\"" : "withheld"));
        incomplete_ = std::move(t);
        return {};
    }

    // One binlog event: true if fed, false at the end of the last file.
    result<bool> step() {
        auto& s = *st_;
        for (;;) {
            if (!s.reader) {
                if (s.file >= opt_.files.size()) return false;
                reader_options ro;
                ro.verify_checksum = opt_.parser.verify_checksum;
                ro.check_end_positions = opt_.parser.check_end_positions;
                std::error_code ec;
                if (!std::filesystem::exists(opt_.files[s.file], ec) && !ec)  // permanent: not retried by run()
                    return error::make(errc::not_found, "binlog", opt_.files[s.file], "no such binlog file");
                auto rd = file_reader::open(opt_.files[s.file], ro);
                if (!rd) return rd.error_value();
                s.reader.emplace(std::move(*rd));
                s.decoder.set_file(base_name(opt_.files[s.file]));
            }
            auto n = s.reader->next(ev_);
            if (!n) return n.error_value();
            if (!*n || (s.file + 1 == opt_.files.size() && ev_.offset >= opt_.stop_position)) {
                s.reader.reset();
                if (++s.file >= opt_.files.size() || *n) {
                    s.file = opt_.files.size();
                    return false;
                }
                continue;
            }
            s.cur = {s.file, ev_.offset};
            s.emitting = s.file > s.resume.file || (s.file == s.resume.file && ev_.offset >= s.resume.offset);
            auto r = s.decoder.feed(ev_, s.adapter);
            if (!r) return r.error_value();
            return true;
        }
    }

    // The file name the parser and cursors use: the path's last component.
    static std::string base_name(const std::string& path) {
        const auto slash = path.find_last_of('/');
        return slash == std::string::npos ? path : path.substr(slash + 1);
    }

    // The cursor of a transactional sink: deliver from its position (its file among `files`).
    template <class Sink>
    result<void> resume_from(Sink& sink) {
        auto c = sink.load_cursor();
        if (!c) return c.error_value();
        if (!*c) return {};
        auto p = parse_cursor(**c, "the sink's saved cursor");
        if (!p) return p.error_value();
        for (std::size_t i = 0; i < opt_.files.size(); ++i) {
            if (base_name(opt_.files[i]) == p->file) {
                st_->resume = {i, p->offset};
                return {};
            }
        }
        return error::make(errc::invalid_value, "binlog", "file_source",
                           "the sink's saved cursor is in binlog file '" + p->file +
                               "', which is not among the files given: cannot tell where to resume");
    }

    // Publishes the position after the last group delivered.
    template <class Sink>
    result<void> publish(Sink& sink) {
        auto r = sink.publish(to_cursor({base_name(opt_.files[after_group_.file]), after_group_.offset, {}}));
        if (r) unsaved_ = 0;
        return r;
    }

    // After a sink failure: start again from the first file, delivering from the failed group's start.
    void rewind() {
        const position_mark from = st_->group_start;
        st_ = make_state();
        st_->resume = from;
    }

    file_source_options opt_;
    std::unique_ptr<state> st_;  // stable address: the adapter's forward points at it
    raw_event ev_;
    bool done_ = false;
    bool started_ = false;
    position_mark after_group_;    // the position after the last group delivered
    std::size_t unsaved_ = 0;      // groups delivered since the last publish()
    std::optional<incomplete_transaction> incomplete_;
};

// Holds a transaction's events until its end (withhold), or passes them on as they come.
inline result<void> file_source::forward::operator()(const event& e) {
    state& st = *s;
    if (!st.emitting) return {};
    st.event_at = st.cur;
    result<void> r;
    if (e.kind == event_kind::begin) {
        st.open = true;
        st.open_begin = e;
        st.open_at = st.cur;
        st.open_events = 0;
        st.streaming = st.policy == incomplete_policy::mark;
        if (st.streaming) r = st.out(e);
        else st.hold(e);
    } else if (st.open && (e.kind == event_kind::commit || e.kind == event_kind::rollback)) {
        st.open = false;
        r = st.deliver_held();
        if (r) {
            st.event_at = st.cur;
            r = st.out(e);
        }
    } else if (st.open) {
        ++st.open_events;
        if (!st.streaming && st.held_n >= st.hold_limit) {  // too large to hold: delivered as it comes
            st.streaming = true;
            r = st.deliver_held();
        }
        if (r) {
            st.event_at = st.cur;
            if (st.streaming) r = st.out(e);
            else st.hold(e);
        }
    } else {
        r = st.out(e);
    }
    if (!r) st.sink_failed = true;
    return r;
}

}  // namespace binlog
ROWCAST_NAMESPACE_END
