// rowcast/binlog/spool_sink.hpp: exactly-once delivery of binlog transactions
// into a spool directory, with the checkpoint that makes a restart resume there.
//
// `spool_sink<Codec>` is two things at once:
//   - an event sink for `event_adapter` (operator()(const event&)): every event of
//     a transaction is *staged* in the spool directory (spool_txn_writer: hidden
//     names that consumers ignore);
//   - a `checkpoint_store` for the follower (follower.hpp): save(p) makes the staged
//     transactions that ended before p durable, writes the state file {p, token
//     of those staged files} atomically, and only then publishes them (renames
//     them to ordinary spool names, in order). load() returns the saved position.
//
// open() recovers from a crash at any instant: the state file's token says which
// staged files were committed with the saved position; those are published (the
// process died between the checkpoint and the renames), all other staged files are
// removed (their transactions come after the saved position and are delivered
// again from the binlog). So each committed transaction reaches the spool exactly
// once, in binlog order, however often the follower is killed (kill -9 included,
// power loss too with spool_durability::file_and_directory).
//
// Group ends: a commit event, a rollback event, or a DDL event outside a
// transaction. save(p) must be called with p = the position right after the last
// group end the sink has seen (the follower does exactly this); events staged
// after that group end (a transaction in progress) stay staged. A rollback whose
// statement is "interrupted" (the follower's connection broke inside the
// transaction) removes that transaction's staged events: it is delivered again
// whole. Other rollbacks (MariaDB logs changes to non-transactional tables even
// when the client rolled back) are delivered as they are, rollback event included.
//
//   auto sink = rowcast::binlog::spool_sink<rowcast::json_codec>::open(
//                   {.spool = {.directory = "/var/spool/rowcast"}, .checkpoint = "/var/lib/rowcast/pos"})
//                   .value();
//   rowcast::binlog::event_adapter adapter(std::ref(sink));
//   rowcast::binlog::follower f(options);
//   f.run(adapter, sink);   // resumes from the checkpoint, saves per options.checkpoint
//
// The state file must not be a visible file of the spool directory (open() refuses
// it: a consumer would take it for an event); a name starting with '.' there is fine.
//
// Errors: from open() the state file's load errors (a damaged checkpoint stops
// everything: nothing is published or removed) and the spool's; staging, saving and
// publishing return io_error naming the file.
//
// Thread-safety: one thread at a time (the follower's).
#pragma once

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/transport/spool_txn_writer.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

struct spool_sink_options {
    spool_txn_writer_options spool;       ///< directory, durability (also used for the state file), staging name
    std::filesystem::path checkpoint;     ///< the state file (its directory must exist)
};

template <event_codec Codec>
class spool_sink {
public:
    /// Loads the checkpoint, locks the staging name and recovers staged files (see above).
    static result<spool_sink> open(spool_sink_options opt, Codec codec = Codec{}) {
        // A consumer of the spool would take the state file for a (foreign) event file.
        std::error_code ec;
        const auto cp_dir = opt.checkpoint.parent_path().empty() ? std::filesystem::path(".")
                                                                 : opt.checkpoint.parent_path();
        if (std::filesystem::equivalent(cp_dir, opt.spool.directory, ec) &&
            !opt.checkpoint.filename().string().starts_with("."))
            return error::make(errc::invalid_value, "checkpoint", opt.checkpoint.string(),
                               "the checkpoint file must not be in the spool directory "
                               "(a consumer would take it for an event); put it elsewhere or name it .<name>");
        state_file state(opt.checkpoint, opt.spool.durability);
        auto rec = state.load_record();
        if (!rec) return rec.error_value();
        auto w = spool_txn_writer<Codec>::open(opt.spool, std::move(codec));
        if (!w) return w.error_value();
        auto r = w->recover(*rec ? (*rec)->staged : std::string_view{});
        if (!r) return r.error_value();
        std::optional<position> pos;
        if (*rec) pos = std::move((*rec)->pos);
        return spool_sink(std::move(state), std::move(*w), std::move(pos), *r);
    }

    /// Stages one event (the event_adapter's sink). See "Group ends" above.
    result<void> operator()(const event& e) {
        if (e.kind == event_kind::rollback && e.statement == "interrupted") {
            in_txn_ = false;
            return writer_.discard_after(group_end_);
        }
        auto s = writer_.stage(e);
        if (!s) return s.error_value();
        switch (e.kind) {
            case event_kind::begin: in_txn_ = true; break;
            case event_kind::commit:
            case event_kind::rollback:
                in_txn_ = false;
                group_end_ = *s;
                break;
            case event_kind::ddl:
                if (!in_txn_) group_end_ = *s;
                break;
            default: break;
        }
        return {};
    }

    /// The position saved last (by this sink or before the restart); nullopt if none.
    result<std::optional<position>> load() { return saved_; }

    /// Commits the staged groups that ended so far with position `p` (see above):
    /// sync staged files, save {p, token} atomically, publish. A failure after the
    /// state file was written is completed by the next save() or by open().
    result<void> save(const position& p) {
        if (auto r = writer_.sync(); !r) return r;
        if (auto r = state_.save_record({p, writer_.mark(group_end_)}); !r) return r;
        saved_ = p;
        auto n = writer_.publish(group_end_);
        if (!n) return n.error_value();
        return {};
    }

    /// What open() found: staged files published (committed before a crash) and removed.
    const spool_recovery& recovery() const noexcept { return recovery_; }
    const state_file& checkpoint_file() const noexcept { return state_; }
    /// Staged files published so far by this sink (recovery not included).
    std::uint64_t published() const noexcept { return writer_.published(); }

private:
    spool_sink(state_file s, spool_txn_writer<Codec> w, std::optional<position> p, spool_recovery rec)
        : state_(std::move(s)), writer_(std::move(w)), saved_(std::move(p)), recovery_(rec) {}

    state_file state_;
    spool_txn_writer<Codec> writer_;
    std::optional<position> saved_;
    spool_recovery recovery_;
    std::uint64_t group_end_ = 0;  // ordinal of the last staged event that ended a group
    bool in_txn_ = false;
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
