// rowcast/transport/spool_sink.hpp: a transactional_sink (pipeline/sink.hpp) into
// a spool directory: each published transaction reaches the spool exactly once,
// in order, with the resume cursor that makes a restart carry on after it.
//
// write(e) *stages* the event in the spool directory (spool_txn_writer: hidden
// names that consumers ignore). publish(cursor) makes the staged files durable,
// saves {cursor, token of the staged files up to the last group end} atomically
// in the checkpoint file (pipeline/checkpoint.hpp), and only then publishes those
// files (renames them to ordinary spool names, in order). discard() removes the
// staged events after the last group end. load_cursor() is the saved cursor.
//
// open() recovers from a crash at any instant: the checkpoint's token says which
// staged files were committed with the saved cursor; those are published (the
// process died between the checkpoint and the renames), all other staged files are
// removed (they come after the saved cursor and the source delivers them again).
// So with a source that resumes from load_cursor() (the binlog follower) each
// transaction reaches the spool exactly once, in order, however often the process
// is killed (kill -9 included; power loss too with durability::file_and_directory).
//
// Group ends (pipeline/sink.hpp): a commit, a rollback, or a DDL outside a
// transaction. A rollback whose cause is end_cause::interrupted (a source that
// reports a lost transaction as an event) is discard(): it is never written.
//
//   auto sink = rowcast::spool_sink<rowcast::json_codec>::open(
//                   {.spool = {.directory = "/var/spool/rowcast"}, .checkpoint = "/var/lib/rowcast/pos"}).value();
//
// The checkpoint file must not be in the spool directory (open() refuses it, hidden
// name or not): another user may write the spool (the database server's account, for
// the trigger path) and could replace it. Keep it where only this process's user writes.
//
// Errors: from open() the checkpoint's load errors (a damaged checkpoint stops
// everything: nothing is published or removed) and the spool's; write, publish and
// discard return io_error naming the file (transient: retry).
//
// Thread-safety: one thread at a time.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/pipeline/checkpoint.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/transport/spool_txn_writer.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

ROWCAST_NAMESPACE_BEGIN

struct spool_sink_options {
    spool_txn_writer_options spool;    ///< directory, durability (also used for the checkpoint), staging name
    std::filesystem::path checkpoint;  ///< the checkpoint file (its directory must exist)
    checkpoint_format format{};        ///< the checkpoint file's magic (binlog/spool_sink.hpp uses its own)
};

template <event_codec Codec>
class spool_sink {
public:
    /// Loads the checkpoint, locks the staging name and recovers staged files (see above).
    static result<spool_sink> open(spool_sink_options opt, Codec codec = Codec{}) {
        std::error_code ec;
        const auto cp_dir = opt.checkpoint.parent_path().empty() ? std::filesystem::path(".")
                                                                 : opt.checkpoint.parent_path();
        if (std::filesystem::equivalent(cp_dir, opt.spool.directory, ec))
            return error::make(errc::invalid_value, "checkpoint", opt.checkpoint.string(),
                               "the checkpoint file must not be in the spool directory (whoever may write "
                               "the spool, such as the database server's account, could replace it); put it in "
                               "a directory only this process's user can write, e.g. /var/lib/rowcast");
        checkpoint_file file(opt.checkpoint, opt.spool.durability, opt.format);
        auto rec = file.load();
        if (!rec) return rec.error_value();
        auto w = spool_txn_writer<Codec>::open(opt.spool, std::move(codec));
        if (!w) return w.error_value();
        auto r = w->recover(*rec ? std::string_view((*rec)->staged) : std::string_view{});
        if (!r) return r.error_value();
        std::optional<std::string> cursor;
        if (*rec) cursor = std::move((*rec)->cursor);
        return spool_sink(std::move(file), std::move(*w), std::move(cursor), *r);
    }

    /// Stages one event (see "Group ends" above).
    result<void> write(const event& e) {
        if (e.kind == event_kind::rollback && e.cause() == end_cause::interrupted) return discard();
        auto s = writer_.stage(e);
        if (!s) return s.error_value();
        if (ends_group(e, in_txn_)) group_end_ = *s;
        return {};
    }
    /// Stages each event of `batch` in order (stops at the first failure).
    result<void> write(std::span<const event> batch) { return write_each(*this, batch); }
    /// Staged files are written as the durability says; publish() is what makes them visible.
    result<void> flush() { return {}; }

    /// Commits the staged groups that ended so far with `cursor`: sync staged files,
    /// save {cursor, token} atomically, publish. A failure after the checkpoint was
    /// written is completed by the next publish() or by open().
    result<void> publish(std::string_view cursor) {
        if (auto r = writer_.sync(); !r) return r;
        checkpoint_record rec{std::string(cursor), writer_.mark(group_end_)};
        if (auto r = file_.save(rec); !r) return r;
        saved_ = std::move(rec.cursor);
        auto n = writer_.publish(group_end_);
        if (!n) return n.error_value();
        return {};
    }

    /// Removes the staged events after the last group end (a transaction in progress).
    result<void> discard() {
        in_txn_ = false;
        return writer_.discard_after(group_end_);
    }

    /// The cursor saved last (by this sink or before the restart); nullopt if none.
    result<std::optional<std::string>> load_cursor() { return saved_; }

    /// What open() found: staged files published (committed before a crash) and removed.
    const spool_recovery& recovery() const noexcept { return recovery_; }
    const checkpoint_file& checkpoint() const noexcept { return file_; }
    /// Staged files published so far by this sink (recovery not included).
    std::uint64_t published() const noexcept { return writer_.published(); }

private:
    spool_sink(checkpoint_file f, spool_txn_writer<Codec> w, std::optional<std::string> c, spool_recovery rec)
        : file_(std::move(f)), writer_(std::move(w)), saved_(std::move(c)), recovery_(rec) {}

    checkpoint_file file_;
    spool_txn_writer<Codec> writer_;
    std::optional<std::string> saved_;
    spool_recovery recovery_;
    std::uint64_t group_end_ = 0;  // ordinal of the last staged event that ended a group
    bool in_txn_ = false;
};

ROWCAST_NAMESPACE_END
