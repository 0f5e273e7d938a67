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
// A sink error: the files are read again from the start of the transaction that
// was being delivered (its begin event's offset; earlier events parsed, not
// delivered), so a retried process() delivers that transaction again from its
// first event: whole transactions at least once. A transactional sink is told to
// discard() the partial transaction first, so with one each transaction is
// delivered once. Decoding errors (a damaged file) are returned as they are
// (permanent: "[rowcast.binlog.<errc>] <file> at offset N: …"); so is a file that does
// not exist (errc::not_found). Other I/O errors are transient (io_error: run() retries).
//
// Thread-safety: one thread at a time.
#pragma once

#include <rowcast/binlog/handler.hpp>
#include <rowcast/binlog/parser.hpp>
#include <rowcast/binlog/reader.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
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

struct file_source_options {
    std::vector<std::string> files;          ///< binlog files, read in this order (at least one)
    parser_options parser;                   ///< also: verify_checksum, check_end_positions for the reader
    std::uint64_t start_position = 0;        ///< first file: deliver events at offsets >= this
    std::uint64_t stop_position = std::numeric_limits<std::uint64_t>::max();  ///< last file: stop at offsets >= this
    std::size_t events_per_step = 1024;      ///< binlog events read per process() call (>= 1)
};

class file_source {
public:
    /// Checks the options; files are opened as they are reached (a missing one is an
    /// error from the process() that reaches it, naming it).
    static result<file_source> open(file_source_options o) {
        if (o.files.empty()) return error::make(errc::invalid_value, "binlog", "file_source", "no binlog file given");
        if (o.events_per_step == 0) o.events_per_step = 1;
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
        std::size_t delivered = 0;
        st_->out = [&](const event& e) -> result<void> {
            if (!st_->emitting) return {};
            if (e.kind == event_kind::begin || (e.kind == event_kind::ddl && !st_->in_txn)) st_->group_start = st_->cur;
            auto r = sink.write(e);
            if (!r) return r;
            ++delivered;
            ends_group(e, st_->in_txn);
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
                if (auto r = st_->adapter.finish(); !r) return r.error_value();
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

    const parser_stats& stats() const noexcept { return st_->decoder.stats(); }

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
        explicit state(const parser_options& po) : decoder(po), adapter(forward{this}) {}
        binlog::parser decoder;
        event_adapter<forward> adapter;
        std::function<result<void>(const event&)> out;
        std::optional<file_reader> reader;
        std::size_t file = 0;
        position_mark cur;          // the binlog event being fed
        position_mark group_start;  // begin (or standalone DDL) of the group being delivered
        position_mark resume;       // after a sink failure: deliver from here
        bool emitting = true;
        bool in_txn = false;
        bool sink_failed = false;
    };

    explicit file_source(file_source_options o) : opt_(std::move(o)), st_(std::make_unique<state>(opt_.parser)) {
        st_->resume = {0, opt_.start_position};
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
                const std::string& path = opt_.files[s.file];
                const auto slash = path.find_last_of('/');
                s.decoder.set_file(slash == std::string::npos ? path : path.substr(slash + 1));
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

    // After a sink failure: start again from the first file, delivering from the failed group's start.
    void rewind() {
        const position_mark from = st_->group_start;
        st_ = std::make_unique<state>(opt_.parser);
        st_->resume = from;
    }

    file_source_options opt_;
    std::unique_ptr<state> st_;  // stable address: the adapter's forward points at it
    raw_event ev_;
    bool done_ = false;
};

inline result<void> file_source::forward::operator()(const event& e) {
    auto r = s->out(e);
    if (!r) s->sink_failed = true;
    return r;
}

}  // namespace binlog
ROWCAST_NAMESPACE_END
