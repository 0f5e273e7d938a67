// rowcast/pipeline/checkpointed_sink.hpp: any event_sink plus a checkpoint file,
// together a transactional_sink (pipeline/sink.hpp) with at-least-once delivery.
//
// For sinks that cannot stage (a stream on stdout, a callback): a source that
// resumes from load_cursor() (the binlog follower) carries on after the last
// cursor published, so nothing is lost across restarts; what was written after
// that cursor is written again after a restart (at-least-once).
//
//   auto out = rowcast::stream_sink(STDOUT_FILENO, rowcast::json_codec{});
//   auto sink = rowcast::checkpointed_sink<decltype(out)&>::open(out, {"/var/lib/rowcast/db1.state"}).value();
//   follower.run(sink, stop);
//
//   write(e) / write(batch)  hand events to the sink at once (no staging);
//   publish(cursor)          flush() the sink (the events up to the cursor are out), then
//                            save the cursor atomically (checkpoint_file);
//   discard()                the source lost the transaction in progress and will deliver
//                            it again whole: its events already went out, so when one is
//                            open a rollback event with end_cause::interrupted is written
//                            (statement "interrupted"), telling a reader to drop them;
//   load_cursor()            the cursor saved last (loaded by open()).
//
// Errors: open() returns the checkpoint file's load errors (a damaged file stops
// everything: "[rowcast.checkpoint.<errc>] <path>: …"); publish() returns the
// sink's flush error or the save's io_error; write errors are the sink's.
//
// Thread-safety: one thread at a time.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/pipeline/checkpoint.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/version.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

ROWCAST_NAMESPACE_BEGIN

/// An event_sink (`Sink`, or an lvalue reference to one) with a checkpoint file.
template <class Sink>
    requires event_sink<std::remove_reference_t<Sink>>
class checkpointed_sink {
public:
    /// Loads the checkpoint (a missing file: no cursor yet).
    static result<checkpointed_sink> open(Sink sink, checkpoint_file file) {
        auto rec = file.load();
        if (!rec) return rec.error_value();
        std::optional<std::string> cursor;
        if (*rec) cursor = std::move((*rec)->cursor);
        return checkpointed_sink(std::forward<Sink>(sink), std::move(file), std::move(cursor));
    }

    result<void> write(const event& e) {
        auto r = sink_.write(e);
        if (r) (void)ends_group(e, in_txn_);
        return r;
    }
    result<void> write(std::span<const event> batch) {
        auto r = sink_.write(batch);
        if (r)
            for (const event& e : batch) (void)ends_group(e, in_txn_);
        return r;
    }
    result<void> flush() { return sink_.flush(); }

    result<std::optional<std::string>> load_cursor() { return cursor_; }

    result<void> publish(std::string_view cursor) {
        if (auto f = sink_.flush(); !f) return f;
        if (auto s = file_.save({std::string(cursor), {}}); !s) return s;
        cursor_ = std::string(cursor);
        return {};
    }

    result<void> discard() {
        if (!in_txn_) return {};
        event rb;
        rb.kind = event_kind::rollback;
        rb.statement = std::string(to_string(end_cause::interrupted));
        if (auto r = sink_.write(rb); !r) return r;
        in_txn_ = false;
        return {};
    }

    std::remove_reference_t<Sink>& sink() noexcept { return sink_; }
    const checkpoint_file& file() const noexcept { return file_; }

private:
    checkpointed_sink(Sink sink, checkpoint_file file, std::optional<std::string> cursor)
        : sink_(std::forward<Sink>(sink)), file_(std::move(file)), cursor_(std::move(cursor)) {}

    Sink sink_;
    checkpoint_file file_;
    std::optional<std::string> cursor_;
    bool in_txn_ = false;
};

ROWCAST_NAMESPACE_END
