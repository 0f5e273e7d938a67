// rowcast/nats/producer.hpp: a transactional_sink (pipeline/sink.hpp) into a
// JetStream stream: each event one message, exactly once in the stream across
// restarts (kill -9 included) of the process that publishes.
//
//   rowcast::nats::producer_options o;
//   o.connection.servers = {"nats://n1:4222", "nats://n2:4222", "nats://n3:4222"};
//   o.stream.replicas = 3;
//   o.origin = "db1";                                   // unique per source: part of every message id
//   o.checkpoint = "/var/lib/rowcast/db1.nats-cursor";  // where publish(cursor) keeps the cursor
//   auto sink = rowcast::nats::producer<rowcast::json_codec>::open(o).value();
//   follower.run(sink, stop);                           // resumes from sink.load_cursor()
//
// Each event becomes one message (docs/nats.md has the details):
//   subject   subject_template with <schema> and <table> replaced by the escaped names
//             (bytes other than [A-Za-z0-9_] as %XX, an empty name as "-"), default
//             "rowcast.<schema>.<table>": transaction boundaries go to "rowcast.-.-";
//   payload   the event encoded with Codec;
//   headers   Nats-Msg-Id (origin|file:offset|kind|row: the source position, so a
//             re-publish is dropped by the stream's de-duplication), Rowcast-Codec,
//             Rowcast-Kind, Rowcast-Position ("file:offset gtid=…"), Rowcast-Transaction,
//             Rowcast-Key (the primary-key columns of the row, "col=value,…").
// Publishing is asynchronous with at most max_in_flight messages not yet acknowledged
// (write() waits up to ack_timeout for room, then returns errc::unavailable).
// publish(cursor) waits until the stream acknowledged every message written so far,
// re-sends those it refused or did not acknowledge in time, and only then saves the
// cursor (checkpoint file, atomic): the checkpoint never gets ahead of the stream. A
// restart resumes from load_cursor(); the events written after it are published again
// with the same message ids and the stream drops them (within its duplicate window),
// so each event is in the stream once. discard() has nothing to undo (what was sent
// of a transaction in progress is sent again, with the same ids, and dropped).
// Ordering (keep_order, the default): the stream holds the messages in the order
// written, also across a refusal, a lost acknowledgement, a leader change or kill -9
// of a server. Each message carries Nats-Expected-Last-Msg-Id = the id of the message
// written before it (the chain), so the stream stores it only right after that one;
// on a failure the producer waits for the whole window's answers and re-sends, in
// order, every message not acknowledged (those already stored come back as
// duplicates: the stream checks ids before the chain). The first message of a run and
// the first of each re-send carry no such header (all earlier ones are stored then).
// The check is stream-wide: with keep_order, one producer per stream.
//
// Errors: open(): the connection's, ensure_stream()'s (a stream whose configuration
// differs is refused), the checkpoint's load errors, an invalid subject template.
// write(): refused (permanent) for a subject outside the stream's subjects;
// missing_field for an event without a source position or transaction id (no message
// id); unavailable (transient: rowcast::run() retries after its backoff, and the
// source delivers the event again) when the window stays full, and while earlier
// messages are refused (a full stream with discard new, no stream on the subject, no
// acknowledgement in time): the pipeline holds, nothing is skipped. publish()/flush():
// the same unavailable errors, or the checkpoint's io_error.
//
// Thread-safety: one thread at a time; stats() from any thread.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/nats/connection.hpp>
#include <rowcast/nats/detail/handles.hpp>
#include <rowcast/nats/detail/subject.hpp>
#include <rowcast/os/atomic_file.hpp>
#include <rowcast/pipeline/checkpoint.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace nats {

struct producer_options {
    connection_options connection;
    stream_options stream;                                 ///< created or checked by open()
    std::string subject_template = "rowcast.<schema>.<table>";
    std::string origin;                 ///< prefix of every message id: one name per source (a server name)
    std::filesystem::path checkpoint;   ///< the cursor store of publish(); empty: cursors are not kept
    durability checkpoint_durability = durability::file_and_directory;
    std::size_t max_in_flight = 4096;   ///< messages published and not yet acknowledged (>= 1)
    std::chrono::milliseconds ack_timeout{5000};  ///< per message; also the longest wait for room
    /// Messages stored in the order written (the Nats-Expected-Last-Msg-Id chain, see the top of
    /// this header). Needs this producer to be the stream's only publisher; off: a message
    /// refused or unacknowledged is re-sent after those that followed it in the window.
    bool keep_order = true;
};

/// Counters (rowcast/stats.hpp).
struct producer_stats {
    std::uint64_t published = 0;     ///< messages handed to the connection (re-sends not included)
    std::uint64_t acknowledged = 0;  ///< acknowledged by the stream (duplicates included)
    std::uint64_t duplicates = 0;    ///< acknowledged as duplicates (dropped by the stream)
    std::uint64_t failures = 0;      ///< refused or not acknowledged in time
    std::uint64_t resent = 0;        ///< messages re-sent after a failure
    std::uint64_t held_back = 0;     ///< refused because the message before them was not stored (keep_order)
    std::uint64_t checkpoints = 0;   ///< cursors saved by publish()

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("published", published, "messages published"));
        v(detail::counter("acknowledged", acknowledged, "messages acknowledged by the stream"));
        v(detail::counter("duplicates", duplicates, "messages the stream dropped as duplicates"));
        v(detail::counter("failures", failures, "publishes refused or not acknowledged in time"));
        v(detail::counter("resent", resent, "messages re-sent after a failure"));
        v(detail::counter("held_back", held_back, "messages refused until the one before them is stored"));
        v(detail::counter("checkpoints", checkpoints, "cursors saved"));
    }
};

template <event_codec Codec>
class producer {
public:
    /// Connects, creates or checks the stream, loads the checkpoint.
    static result<producer> open(producer_options o, Codec codec = Codec{}) {
        namespace d = rowcast::detail::nats;
        auto tmpl = d::subject_template::parse(o.subject_template);
        if (!tmpl) return tmpl.error_value();
        if (o.stream.subjects.empty()) o.stream.subjects = {tmpl->filter()};
        if (o.max_in_flight == 0) o.max_in_flight = 1;
        std::optional<checkpoint_file> file;
        std::optional<std::string> cursor;
        if (!o.checkpoint.empty()) {
            file.emplace(o.checkpoint, o.checkpoint_durability);
            auto rec = file->load();
            if (!rec) return rec.error_value();
            if (*rec) cursor = std::move((*rec)->cursor);
        }
        auto c = connection::connect(o.connection);
        if (!c) return c.error_value();
        if (auto s = ensure_stream(*c, o.stream); !s) return s.error_value();
        producer p(std::move(o), std::move(*tmpl), std::move(*c), std::move(codec));
        p.file_ = std::move(file);
        p.cursor_ = std::move(cursor);
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.PublishAsync.MaxPending = static_cast<int64_t>(p.opt_.max_in_flight);
        jo.PublishAsync.AckHandler = &producer::on_ack;
        jo.PublishAsync.AckHandlerClosure = p.st_.get();
        jo.PublishAsync.StallWait = p.opt_.ack_timeout.count();
        auto js = p.conn_.jetstream(&jo);
        if (!js) return js.error_value();
        p.js_ = std::move(*js);
        return p;
    }

    producer(producer&&) noexcept = default;
    producer& operator=(producer&&) = delete;
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;

    /// Waits (bounded by ack_timeout) for the acknowledgements in flight; what is not
    /// acknowledged by then is dropped here (a restart publishes it again).
    ~producer() {
        if (!js_) return;
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = opt_.ack_timeout.count() + 1000;
        if (js_PublishAsyncComplete(js_.get(), &po) != NATS_OK) {
            rowcast::detail::nats::msg_list left;
            if (js_PublishAsyncGetPendingList(left.get(), js_.get()) == NATS_OK) {
                std::lock_guard<std::mutex> l(st_->mu);
                for (int i = 0; i < left.size(); ++i) st_->ordinal.erase(left.get()->Msgs[i]);
            }
            po.MaxWait = 1000;  // an acknowledgement handler running now returns before this does
            (void)js_PublishAsyncComplete(js_.get(), &po);
        }
        conn_.close();  // before the JetStream context's reply subscription goes (connection::close())
    }

    /// Publishes one event (asynchronously; see the top of this header).
    result<void> write(const event& e) {
        namespace d = rowcast::detail::nats;
        if (e.kind == event_kind::rollback && e.cause() == end_cause::interrupted) return discard();
        if (auto r = resend_failed(); !r) return r;
        tmpl_.expand(e.schema, e.table, subject_);
        if (!known_subjects_.contains(subject_)) {
            bool ok = false;
            for (const auto& f : opt_.stream.subjects) ok = ok || d::subject_matches(f, subject_);
            if (!ok)
                return error::make(errc::refused, "nats", "stream " + opt_.stream.name,
                                   "subject '" + subject_ + "' is not one of the stream's subjects " +
                                       join(opt_.stream.subjects) + " (fix subject_template or the stream)");
            known_subjects_.insert(subject_);
        }
        auto id = d::msg_id(e, opt_.origin);
        if (!id) return id.error_value();
        payload_.clear();
        codec_.encode(e, payload_);
        natsMsg* m = nullptr;
        natsStatus s = natsMsg_Create(&m, subject_.c_str(), nullptr, payload_.data(), static_cast<int>(payload_.size()));
        d::msg_ptr msg(m);
        auto header = [&](const char* k, const std::string& v) {
            if (s == NATS_OK && !v.empty()) s = natsMsgHeader_Set(msg.get(), k, v.c_str());
        };
        header("Nats-Msg-Id", *id);
        if (opt_.keep_order) header(expected_last_header, prev_id_);
        header("Rowcast-Codec", std::string(Codec::name));
        header("Rowcast-Kind", std::string(to_string(e.kind)));
        header("Rowcast-Position", d::position_header(e));
        if (!e.transaction.id.empty()) {
            std::string t;
            d::append_header_text(t, e.transaction.id);
            header("Rowcast-Transaction", t);
        }
        header("Rowcast-Key", d::key_header(e));
        if (s != NATS_OK) return d::make_error(s, subject_, "cannot build the message");
        if (auto r = send(msg, next_ordinal_); !r) return r;
        ++next_ordinal_;
        prev_id_ = std::move(*id);
        std::lock_guard<std::mutex> l(st_->mu);
        ++st_->stats.published;
        return {};
    }

    /// write() each event of `batch` in order (stops at the first failure).
    result<void> write(std::span<const event> batch) { return write_each(*this, batch); }

    /// Waits until every message written so far is acknowledged (re-sending failures once).
    result<void> flush() {
        if (auto w = wait_all(); !w) return w;
        return resend_failed();
    }

    /// flush(), then saves `cursor` (when a checkpoint file is configured).
    result<void> publish(std::string_view cursor) {
        if (auto f = flush(); !f) return f;
        if (file_) {
            if (auto r = file_->save({std::string(cursor), {}}); !r) return r;
        }
        cursor_ = std::string(cursor);
        std::lock_guard<std::mutex> l(st_->mu);
        ++st_->stats.checkpoints;
        return {};
    }

    /// Nothing to undo: a transaction delivered again is published with the same ids.
    result<void> discard() { return {}; }

    /// The cursor saved last (by this producer or before a restart); nullopt if none.
    result<std::optional<std::string>> load_cursor() { return cursor_; }

    producer_stats stats() const {
        std::lock_guard<std::mutex> l(st_->mu);
        return st_->stats;
    }
    const producer_options& options() const noexcept { return opt_; }
    /// Messages written and not yet acknowledged (refused ones waiting for a re-send included).
    std::size_t unacknowledged() const {
        std::lock_guard<std::mutex> l(st_->mu);
        return st_->ordinal.size() + st_->failed.size();
    }

private:
    static constexpr const char* expected_last_header = "Nats-Expected-Last-Msg-Id";

    // A message refused or not acknowledged in time, and why.
    struct failure {
        rowcast::detail::nats::msg_ptr msg;
        error why;
    };
    // Shared with cnats' acknowledgement thread (guarded by mu).
    struct state {
        mutable std::mutex mu;
        std::unordered_map<const natsMsg*, std::uint64_t> ordinal;  // in flight -> write order
        std::map<std::uint64_t, failure> failed;                    // to re-send, in write order
        producer_stats stats;
    };

    producer(producer_options o, rowcast::detail::nats::subject_template t, connection c, Codec codec)
        : st_(std::make_unique<state>()), opt_(std::move(o)), tmpl_(std::move(t)), conn_(std::move(c)),
          codec_(std::move(codec)) {}

    static std::string join(const std::vector<std::string>& v) {
        std::vector<const char*> p;
        for (const auto& s : v) p.push_back(s.c_str());
        return rowcast::detail::nats::join(p.data(), static_cast<int>(p.size()));
    }

    // cnats' thread: an acknowledgement, a refusal or a time-out of one message.
    static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
        auto* st = static_cast<state*>(closure);
        rowcast::detail::nats::msg_ptr owned(msg);
        std::lock_guard<std::mutex> l(st->mu);
        const auto it = st->ordinal.find(msg);
        if (it == st->ordinal.end()) return;  // dropped by the destructor
        const std::uint64_t ord = it->second;
        st->ordinal.erase(it);
        if (pa) {
            ++st->stats.acknowledged;
            if (pa->Duplicate) ++st->stats.duplicates;
            return;
        }
        ++st->stats.failures;
        const char* subj = natsMsg_GetSubject(msg);
        std::string what;
        if (pae && pae->ErrCode == rowcast::detail::nats::js_stream_store_failed)
            what = "the stream refuses the message (full: its max_msgs/max_bytes with discard new)";
        else if (pae && pae->Err == NATS_NO_RESPONDERS)
            what = "no stream takes this subject (no responders)";
        else if (pae && pae->Err == NATS_TIMEOUT)
            what = "no acknowledgement in time";
        else if (pae && pae->ErrCode == rowcast::detail::nats::js_wrong_last_msg_id) {
            what = "the message before it is not stored yet (order kept)";
            ++st->stats.held_back;
        }
        else
            what = "the stream refused the message";
        if (pae && pae->ErrText && *pae->ErrText) what += std::string(": ") + pae->ErrText;
        if (pae && pae->ErrCode) what += " [JetStream error " + std::to_string(pae->ErrCode) + "]";
        what += "; held, re-sent before anything new";
        st->failed.emplace(ord, failure{std::move(owned), error::make(errc::unavailable, "nats", subj ? subj : "publish", what)});
    }

    // Hands `msg` to cnats: empty after success; still the caller's after a failure.
    result<void> send(rowcast::detail::nats::msg_ptr& msg, std::uint64_t ord) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = opt_.ack_timeout.count();
        natsMsg* raw = msg.get();
        {
            std::lock_guard<std::mutex> l(st_->mu);
            st_->ordinal[raw] = ord;
        }
        natsMsg* p = raw;
        const natsStatus s = js_PublishMsgAsync(js_.get(), &p, &po);
        if (s == NATS_OK || p == nullptr) {  // cnats owns it now
            (void)msg.release();
            if (s == NATS_OK) return {};
        } else {
            std::lock_guard<std::mutex> l(st_->mu);
            st_->ordinal.erase(raw);
        }
        const std::string subj = msg && natsMsg_GetSubject(msg.get()) ? natsMsg_GetSubject(msg.get()) : "publish";
        if (s == NATS_TIMEOUT)
            return error::make(errc::unavailable, "nats", subj,
                               std::to_string(opt_.max_in_flight) + " messages in flight and none acknowledged within " +
                                   std::to_string(opt_.ack_timeout.count()) + " ms");
        return rowcast::detail::nats::make_error(s, subj, "cannot publish");
    }

    // Waits for every acknowledgement (bounded); unavailable if some are still missing.
    result<void> wait_all() {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = opt_.ack_timeout.count() + 1000;  // per-message time-outs fire before this
        const natsStatus s = js_PublishAsyncComplete(js_.get(), &po);
        if (s == NATS_OK) return {};
        return rowcast::detail::nats::make_error(s, "stream " + opt_.stream.name,
                                                 std::to_string(unacknowledged()) + " messages not acknowledged");
    }

    // After a failure: waits until every message in flight is answered, then re-sends
    // those not acknowledged in write order (the first without the chain header: every
    // message before it is stored) and waits for them. The first failure's error if
    // some are refused again (they stay for the next try).
    result<void> resend_failed() {
        {
            std::lock_guard<std::mutex> l(st_->mu);
            if (st_->failed.empty()) return {};
        }
        if (auto w = wait_all(); !w) return w;  // no re-send while later messages may still land
        std::map<std::uint64_t, failure> todo;
        {
            std::lock_guard<std::mutex> l(st_->mu);
            todo.swap(st_->failed);
        }
        if (opt_.keep_order) (void)natsMsgHeader_Delete(todo.begin()->second.msg.get(), expected_last_header);
        for (auto it = todo.begin(); it != todo.end(); ++it) {
            auto r = send(it->second.msg, it->first);
            if (!r) {  // keep this one and the rest for the next try
                std::lock_guard<std::mutex> l(st_->mu);
                for (auto rest = it; rest != todo.end(); ++rest)
                    if (rest->second.msg) st_->failed.emplace(rest->first, std::move(rest->second));
                return r;
            }
            std::lock_guard<std::mutex> l(st_->mu);
            ++st_->stats.resent;
        }
        if (auto w = wait_all(); !w) return w;
        std::lock_guard<std::mutex> l(st_->mu);
        if (!st_->failed.empty()) return st_->failed.begin()->second.why;
        return {};
    }

    std::unique_ptr<state> st_;  // first: destroyed after the connection (cnats threads end with it)
    producer_options opt_;
    rowcast::detail::nats::subject_template tmpl_;
    connection conn_;
    rowcast::detail::nats::js_ptr js_;
    Codec codec_;
    std::optional<checkpoint_file> file_;
    std::optional<std::string> cursor_;
    std::unordered_set<std::string> known_subjects_;
    std::string subject_, payload_;
    std::string prev_id_;  // the message id written last: the next one's expected last id
    std::uint64_t next_ordinal_ = 0;
};

}  // namespace nats
ROWCAST_NAMESPACE_END
