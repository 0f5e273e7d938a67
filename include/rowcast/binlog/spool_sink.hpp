// rowcast/binlog/spool_sink.hpp: exactly-once delivery of binlog transactions
// into a spool directory, with the checkpoint that makes a restart resume there.
//
// `binlog::spool_sink<Codec>` is rowcast::spool_sink (transport/spool_sink.hpp, the
// generic transactional sink into a spool) seen through binlog positions instead of
// opaque cursors, with the state file format of checkpoint.hpp. It is two things at once:
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
#include <rowcast/transport/spool_sink.hpp>
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

/// rowcast::spool_sink (transport/spool_sink.hpp) with the binlog state file format and
/// positions in place of cursors: the follower's checkpoint_store and the event adapter's sink.
template <event_codec Codec>
class spool_sink {
public:
    /// Loads the checkpoint, locks the staging name and recovers staged files (see above).
    static result<spool_sink> open(spool_sink_options opt, Codec codec = Codec{}) {
        const std::string where = opt.checkpoint.string();
        auto inner = rowcast::spool_sink<Codec>::open(
            {std::move(opt.spool), std::move(opt.checkpoint), detail::checkpoint::binlog_v01}, std::move(codec));
        if (!inner) return inner.error_value();
        std::optional<position> pos;
        // A snapshot's cursor (snapshot/initial.hpp, while a snapshot is copied) is not a position: load() is
        // nullopt; an incremental snapshot's part (snapshot/incremental.hpp) follows a position.
        if (auto c = inner->load_cursor(); c && *c && !(*c)->starts_with(snapshot_cursor_prefix)) {
            auto p = parse_cursor(position_part(**c), where);
            if (!p) return p.error_value();
            pos = std::move(*p);
        }
        return spool_sink(std::move(*inner), std::move(pos));
    }

    /// Stages one event (the event_adapter's sink). See "Group ends" above.
    result<void> operator()(const event& e) { return inner_.write(e); }

    /// The position saved last (by this sink or before the restart); nullopt if none.
    result<std::optional<position>> load() { return saved_; }

    /// Commits the staged groups that ended so far with position `p` (see above):
    /// sync staged files, save {p, token} atomically, publish. A failure after the
    /// state file was written is completed by the next save() or by open().
    result<void> save(const position& p) {
        if (auto r = inner_.publish(to_cursor(p)); !r) return r;
        saved_ = p;
        return {};
    }

    /// What open() found: staged files published (committed before a crash) and removed.
    const spool_recovery& recovery() const noexcept { return inner_.recovery(); }
    /// Staged files published so far by this sink (recovery not included).
    std::uint64_t published() const noexcept { return inner_.published(); }
    /// The generic transactional sink underneath.
    rowcast::spool_sink<Codec>& transactional() noexcept { return inner_; }

private:
    spool_sink(rowcast::spool_sink<Codec> inner, std::optional<position> p)
        : inner_(std::move(inner)), saved_(std::move(p)) {}

    rowcast::spool_sink<Codec> inner_;
    std::optional<position> saved_;
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
