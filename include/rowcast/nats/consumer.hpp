// rowcast/nats/consumer.hpp: an event_source (pipeline/source.hpp) over a durable
// JetStream pull consumer: each message is acknowledged only after the sink applied
// its event, so nothing is lost across restarts (kill -9 included).
//
//   rowcast::nats::consumer_options o;
//   o.connection.servers = {"nats://n1:4222", "nats://n2:4222"};
//   o.stream = "ROWCAST";
//   o.durable = "dns-updater";                      // the server remembers what this name acknowledged
//   auto src = rowcast::nats::consumer<rowcast::json_codec>::open(o).value();
//   rowcast::run(src, sink, stop);
//
// Applied means: for a transactional_sink, published (the consumer calls
// publish("nats_stream=…\nnats_seq=N") at each group end; exactly once and in stream
// order into such a sink, e.g. spool_sink: the first process() re-creates the durable
// consumer to deliver from the sequence after load_cursor(), so the durable name then
// belongs to that one sink); for other sinks, written and flush()ed (at least once: a
// crash between the sink and the acknowledgement delivers again, and what a crashed
// process had fetched comes back after ack_wait, after newer messages).
//
// process(sink) fetches up to `batch` messages, waiting at most fetch_wait for the
// first (its one bounded wait; native_handle() is -1 and next_timeout() 0), decodes
// and delivers them. Redeliveries (a message whose acknowledgement the server did not
// get in ack_wait, after a crash or a lost connection): into a transactional sink, those
// at or below its cursor are acknowledged without a second write; into other sinks they
// are written again (at least once). A sink failure: the messages not applied are
// handed back (nak) and delivered again; a transient error is returned as it is
// (rowcast::run() retries after its backoff; the pipeline holds). A permanent sink
// error or an undecodable message is a bad message: it is delivered again up to
// max_deliver times (the error returned meanwhile is unavailable, so run() goes on
// retrying), then published to the dead-letter subject with the reason in the
// Rowcast-Dead-Reason header (and the original subject, stream and sequence in
// Rowcast-Dead-Subject/-Stream/-Sequence) and acknowledged: never dropped silently.
// An undecodable message goes to the dead-letter subject at once. If the dead-letter
// publish fails the message is not acknowledged (unavailable; retried).
//
// Errors: open(): connection errors, not_found for a missing stream, the consumer's
// creation errors. process(): unavailable for lost connections and time-outs
// (transient), the sink's errors (above).
//
// Thread-safety: one thread at a time (stats() too); stop() from any thread.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/log.hpp>
#include <rowcast/event.hpp>
#include <rowcast/nats/connection.hpp>
#include <rowcast/nats/detail/handles.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

ROWCAST_NAMESPACE_BEGIN
namespace nats {

struct consumer_options {
    connection_options connection;
    std::string stream = "ROWCAST";
    std::string durable = "rowcast";            ///< the durable consumer's name (no '.')
    std::string filter_subject;                 ///< empty: every subject of the stream
    int batch = 256;                            ///< messages per fetch
    std::chrono::milliseconds fetch_wait{100};  ///< process()'s longest wait for a first message
    std::chrono::milliseconds ack_wait{30000};  ///< the server delivers again what is not acknowledged by then
    int max_deliver = 5;                        ///< deliveries of a bad message before the dead-letter subject
    std::string dead_letter_subject;            ///< empty: "rowcast_dead.<durable>"
    /// Creates a stream "<stream>_DEAD" for the dead-letter subject when none takes it.
    bool create_dead_letter_stream = true;
    int dead_letter_replicas = 1;
};

struct consumer_stats {
    std::uint64_t received = 0;      ///< messages fetched (redeliveries included)
    std::uint64_t applied = 0;       ///< events applied by the sink and acknowledged
    std::uint64_t redelivered = 0;   ///< messages delivered more than once
    std::uint64_t skipped = 0;       ///< redeliveries of events already applied (acknowledged, not written)
    std::uint64_t naks = 0;          ///< messages handed back after a sink failure
    std::uint64_t dead_lettered = 0; ///< messages published to the dead-letter subject

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("received", received, "messages fetched"));
        v(detail::counter("applied", applied, "events applied and acknowledged"));
        v(detail::counter("redelivered", redelivered, "messages delivered more than once"));
        v(detail::counter("skipped", skipped, "redeliveries of applied events"));
        v(detail::counter("naks", naks, "messages handed back after a sink failure"));
        v(detail::counter("dead_lettered", dead_lettered, "messages sent to the dead-letter subject"));
    }
};

template <event_codec Codec>
class consumer {
public:
    /// Connects, creates the durable consumer if missing (explicit acknowledgements,
    /// ack_wait; the server's own redelivery limit is off: max_deliver is applied here),
    /// and binds a pull subscription to it.
    static result<consumer> open(consumer_options o, Codec codec = Codec{}) {
        namespace d = rowcast::detail::nats;
        if (o.durable.empty() || o.durable.find_first_of(". *>") != std::string::npos)
            return error::make(errc::invalid_value, "nats", "consumer",
                               "durable name '" + o.durable + "' is empty or has '.', ' ', '*' or '>'");
        if (o.dead_letter_subject.empty()) o.dead_letter_subject = "rowcast_dead." + o.durable;
        if (o.batch < 1) o.batch = 1;
        if (o.max_deliver < 1) o.max_deliver = 1;
        auto c = connection::connect(o.connection);
        if (!c) return c.error_value();
        auto js = c->jetstream();
        if (!js) return js.error_value();
        jsStreamInfo* si = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const natsStatus s = js_GetStreamInfo(&si, js->get(), o.stream.c_str(), nullptr, &jerr);
        d::stream_info_ptr info(si);
        if (s != NATS_OK) return d::make_error(s, "stream " + o.stream, "cannot read the stream", jerr);
        if (o.create_dead_letter_stream) {
            stream_options dl{.name = o.stream + "_DEAD", .subjects = {o.dead_letter_subject},
                              .replicas = o.dead_letter_replicas};
            if (auto r = ensure_stream(*c, dl); !r && r.error_value().code != make_error_code(errc::refused))
                return r.error_value();  // an existing dead-letter stream with other settings is the user's
        }
        return consumer(std::move(o), std::move(*c), std::move(*js), std::move(codec));
    }

    consumer(consumer&&) noexcept = default;
    consumer& operator=(consumer&&) = delete;
    /// Closes the connection before the subscription goes (see connection::close()); what is
    /// not acknowledged is delivered again by the server.
    ~consumer() { conn_.close(); }

    int native_handle() const noexcept { return -1; }
    std::chrono::milliseconds next_timeout() const noexcept { return std::chrono::milliseconds(stopped_->load() ? -1 : 0); }
    /// A consumer is never done by itself; true after stop().
    bool done() const noexcept { return stopped_->load(); }
    /// Makes done() true (any thread).
    void stop() noexcept { stopped_->store(true); }

    template <event_sink Sink>
    result<std::size_t> process(Sink& sink) {
        namespace d = rowcast::detail::nats;
        if (!sub_) {
            if constexpr (transactional_sink<Sink>) {
                auto c = sink.load_cursor();
                if (!c) return c.error_value();
                std::uint64_t seq = 0;
                if (*c) {
                    auto p = parse_cursor(**c);
                    if (!p) return p.error_value();
                    seq = *p;
                }
                if (auto b = bind(seq); !b) return b.error_value();
                applied_ = written_ = seq;
            } else {
                if (auto b = bind(std::nullopt); !b) return b.error_value();
            }
        }
        if constexpr (transactional_sink<Sink>) {
            if (publish_due_ > applied_) {  // a publish that failed last time
                if (auto r = commit(sink, publish_due_); !r) return r.error_value();
            }
        }
        d::msg_list list;
        const natsStatus s = natsSubscription_Fetch(list.get(), sub_.get(), opt_.batch, opt_.fetch_wait.count(), nullptr);
        if (s == NATS_TIMEOUT || (s == NATS_OK && list.size() == 0)) return std::size_t{0};
        if (s != NATS_OK) return d::make_error(s, where(), "cannot fetch messages");
        std::size_t delivered = 0;
        for (int i = 0; i < list.size(); ++i) {
            d::msg_ptr m = list.take(i);
            auto r = handle(sink, std::move(m), delivered);
            if (!r) {
                for (int j = i + 1; j < list.size(); ++j) nak(list.take(j).get());
                return r.error_value();
            }
        }
        if constexpr (!transactional_sink<Sink>) {
            if (!held_.empty()) {
                if (auto f = sink.flush(); !f) {
                    give_back();
                    return f.error_value();
                }
                ack_held(std::numeric_limits<std::uint64_t>::max());  // all written, flushed: applied
            }
        }
        return delivered;
    }

    /// Blocking: rowcast::run(*this, sink, stop, opt).
    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop, const run_options& opt = {}) {
        return rowcast::run(*this, sink, std::move(stop), opt);
    }

    consumer_stats stats() const noexcept { return stats_; }
    const consumer_options& options() const noexcept { return opt_; }

private:
    struct held_msg {
        std::uint64_t seq;
        rowcast::detail::nats::msg_ptr msg;
    };

    consumer(consumer_options o, connection c, rowcast::detail::nats::js_ptr js, Codec codec)
        : opt_(std::move(o)), conn_(std::move(c)), js_(std::move(js)), codec_(std::move(codec)) {}

    // Creates the durable consumer if missing and subscribes to it. With `after` (a
    // transactional sink's cursor) the consumer is created anew to deliver from after+1 in
    // stream order: the sink's cursor, not the server's acknowledgements, says what is applied.
    result<void> bind(std::optional<std::uint64_t> after) {
        namespace d = rowcast::detail::nats;
        const std::string w = where();
        jsErrCode jerr = static_cast<jsErrCode>(0);
        if (after) {
            const natsStatus s = js_DeleteConsumer(js_.get(), opt_.stream.c_str(), opt_.durable.c_str(), nullptr, &jerr);
            if (s != NATS_OK && s != NATS_NOT_FOUND && jerr != d::js_consumer_not_found)
                return d::make_error(s, w, "cannot re-create the durable consumer at the sink's cursor", jerr);
        }
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = opt_.durable.c_str();
        cc.AckPolicy = js_AckExplicit;
        cc.AckWait = std::chrono::duration_cast<std::chrono::nanoseconds>(opt_.ack_wait).count();
        cc.MaxDeliver = -1;
        cc.DeliverPolicy = js_DeliverAll;
        if (after && *after > 0) {
            cc.DeliverPolicy = js_DeliverByStartSequence;
            cc.OptStartSeq = *after + 1;
        }
        if (!opt_.filter_subject.empty()) cc.FilterSubject = opt_.filter_subject.c_str();
        jsConsumerInfo* ci = nullptr;
        jerr = static_cast<jsErrCode>(0);
        natsStatus s = js_GetConsumerInfo(&ci, js_.get(), opt_.stream.c_str(), opt_.durable.c_str(), nullptr, &jerr);
        d::consumer_info_ptr info(ci);
        if (s == NATS_NOT_FOUND || jerr == d::js_consumer_not_found) {
            jerr = static_cast<jsErrCode>(0);
            s = js_AddConsumer(&ci, js_.get(), opt_.stream.c_str(), &cc, nullptr, &jerr);
            info.reset(ci);
        }
        if (s != NATS_OK) return d::make_error(s, w, "cannot create or read the durable consumer", jerr);
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = opt_.stream.c_str();
        so.Consumer = opt_.durable.c_str();
        natsSubscription* sub = nullptr;
        jerr = static_cast<jsErrCode>(0);
        s = js_PullSubscribe(&sub, js_.get(), opt_.filter_subject.empty() ? nullptr : opt_.filter_subject.c_str(),
                             opt_.durable.c_str(), nullptr, &so, &jerr);
        sub_.reset(sub);
        if (s != NATS_OK) {
            sub_.reset();
            return d::make_error(s, w, "cannot subscribe", jerr);
        }
        return {};
    }

    std::string where() const { return "consumer " + opt_.stream + "/" + opt_.durable; }

    std::string cursor(std::uint64_t seq) const {
        return "nats_stream=" + opt_.stream + "\nnats_seq=" + std::to_string(seq);
    }
    result<std::uint64_t> parse_cursor(std::string_view c) const {
        const std::string want = "nats_stream=" + opt_.stream + "\nnats_seq=";
        std::uint64_t seq = 0;
        if (!c.starts_with(want) || !rowcast::detail::parse_number(c.substr(want.size()), seq))
            return error::make(errc::invalid_value, "nats", where(),
                               "the sink's cursor '" + std::string(c) + "' is not one of stream " + opt_.stream +
                                   " (expected nats_stream=" + opt_.stream + "\\nnats_seq=N)");
        return seq;
    }

    void nak(natsMsg* m) {
        if (!m) return;
        (void)natsMsg_Nak(m, nullptr);
        ++stats_.naks;
    }
    void ack(natsMsg* m) { (void)natsMsg_Ack(m, nullptr); }

    // Acknowledges the held messages up to `seq` (applied; held in stream order for a
    // transactional sink; a plain sink acknowledges all of them: max()).
    void ack_held(std::uint64_t seq) {
        while (!held_.empty() && held_.front().seq <= seq) {
            ack(held_.front().msg.get());
            held_.pop_front();
            ++stats_.applied;
        }
        if (seq != std::numeric_limits<std::uint64_t>::max() && seq > applied_) applied_ = seq;
    }
    // The sink failed: what it has not applied is delivered again.
    void give_back() {
        for (auto& h : held_) nak(h.msg.get());
        held_.clear();
        written_ = applied_;
        in_txn_ = false;
    }

    template <class Sink>
    result<void> commit(Sink& sink, std::uint64_t seq) {
        publish_due_ = seq;
        if (auto r = sink.publish(cursor(seq)); !r) return r;
        ack_held(seq);
        return {};
    }

    // Publishes `m` with `reason` to the dead-letter subject (acknowledged by its stream).
    result<void> dead_letter(natsMsg* m, const jsMsgMetaData& meta, const std::string& reason) {
        namespace d = rowcast::detail::nats;
        natsMsg* out = nullptr;
        natsStatus s = natsMsg_Create(&out, opt_.dead_letter_subject.c_str(), nullptr, natsMsg_GetData(m),
                                      natsMsg_GetDataLength(m));
        d::msg_ptr dl(out);
        const char** keys = nullptr;
        int n = 0;
        if (s == NATS_OK && natsMsgHeader_Keys(m, &keys, &n) == NATS_OK) {
            for (int i = 0; i < n && s == NATS_OK; ++i) {
                if (std::string_view(keys[i]) == "Nats-Msg-Id") continue;  // would be dropped as a duplicate
                if (std::string_view(keys[i]).starts_with("Nats-Expected-")) continue;  // the producer's order chain
                const char* v = nullptr;
                if (natsMsgHeader_Get(m, keys[i], &v) == NATS_OK && v) s = natsMsgHeader_Set(dl.get(), keys[i], v);
            }
            std::free(keys);
        }
        std::string r;
        for (char c : reason) r += (c == '\r' || c == '\n') ? ' ' : c;
        if (s == NATS_OK) s = natsMsgHeader_Set(dl.get(), "Rowcast-Dead-Reason", r.c_str());
        if (s == NATS_OK) s = natsMsgHeader_Set(dl.get(), "Rowcast-Dead-Subject", natsMsg_GetSubject(m));
        if (s == NATS_OK) s = natsMsgHeader_Set(dl.get(), "Rowcast-Dead-Stream", opt_.stream.c_str());
        if (s == NATS_OK)
            s = natsMsgHeader_Set(dl.get(), "Rowcast-Dead-Sequence", std::to_string(meta.Sequence.Stream).c_str());
        if (s == NATS_OK)
            s = natsMsgHeader_Set(dl.get(), "Rowcast-Dead-Deliveries", std::to_string(meta.NumDelivered).c_str());
        if (s != NATS_OK) return d::make_error(s, opt_.dead_letter_subject, "cannot build the dead-letter message");
        jsPubAck* pa = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        s = js_PublishMsg(&pa, js_.get(), dl.get(), nullptr, &jerr);
        d::pub_ack_ptr ack_owner(pa);
        if (s != NATS_OK)
            return d::make_error(s, opt_.dead_letter_subject,
                                 "cannot publish to the dead-letter subject (the message stays in the stream)", jerr);
        ++stats_.dead_lettered;
        rowcast::log(log_level::error, "nats",
                     where() + ": message " + std::to_string(meta.Sequence.Stream) + " sent to " +
                         opt_.dead_letter_subject + ": " + r);
        return {};
    }

    // One fetched message: skipped, delivered, or handled as bad.
    template <class Sink>
    result<void> handle(Sink& sink, rowcast::detail::nats::msg_ptr m, std::size_t& delivered) {
        namespace d = rowcast::detail::nats;
        ++stats_.received;
        jsMsgMetaData* raw = nullptr;
        if (auto s = natsMsg_GetMetaData(&raw, m.get()); s != NATS_OK)
            return d::make_error(s, where(), "a message without JetStream metadata");
        d::meta_ptr meta(raw);
        const std::uint64_t seq = meta->Sequence.Stream;
        if (meta->NumDelivered > 1) ++stats_.redelivered;
        if constexpr (transactional_sink<Sink>) {
            // Delivered in stream order from the sink's cursor: a sequence at or below it is applied.
            if (seq <= applied_) {  // a redelivery (its acknowledgement was lost): acknowledge only
                ack(m.get());
                ++stats_.skipped;
                return {};
            }
        }
        for (auto& h : held_)
            if (h.seq == seq) {  // written, not yet applied: acknowledge this delivery later
                h.msg = std::move(m);
                ++stats_.skipped;
                return {};
            }
        // A bad message that cannot be applied: dead-letter it at the limit (or at once).
        auto bad = [&](const error& why, bool at_once) -> result<void> {
            if (at_once || meta->NumDelivered >= static_cast<std::uint64_t>(opt_.max_deliver)) {
                if (auto r = dead_letter(m.get(), *meta, why.message); !r) {
                    nak(m.get());
                    return r;
                }
                ack(m.get());
                if (held_.empty()) applied_ = seq;
                written_ = seq;
                return {};
            }
            nak(m.get());
            return error::make(errc::unavailable, "nats", where(),
                               "message " + std::to_string(seq) + " (delivery " + std::to_string(meta->NumDelivered) +
                                   " of " + std::to_string(opt_.max_deliver) + " before the dead-letter subject): " +
                                   why.message);
        };
        auto ev = decode(codec_, std::string_view(natsMsg_GetData(m.get()), static_cast<std::size_t>(natsMsg_GetDataLength(m.get()))));
        if (!ev) return bad(ev.error_value(), true);
        if (auto w = sink.write(*ev); !w) {
            if constexpr (transactional_sink<Sink>) {
                (void)sink.discard();
            } else {
                if (sink.flush()) ack_held(std::numeric_limits<std::uint64_t>::max());  // those before it are applied
            }
            give_back();
            if (is_transient(w.error_value())) {
                nak(m.get());
                return w;
            }
            return bad(w.error_value(), false);
        }
        ++delivered;
        written_ = seq;
        held_.push_back({seq, std::move(m)});
        if constexpr (transactional_sink<Sink>) {
            if (ends_group(*ev, in_txn_)) {
                if (auto r = commit(sink, seq); !r) return r;
            }
        }
        return {};
    }

    consumer_options opt_;
    connection conn_;
    rowcast::detail::nats::js_ptr js_;
    rowcast::detail::nats::subscription_ptr sub_;
    Codec codec_;
    std::deque<held_msg> held_;     // written, not yet applied (acknowledged when applied)
    std::uint64_t applied_ = 0;     // stream sequence applied by the sink
    std::uint64_t written_ = 0;     // stream sequence written to the sink
    std::uint64_t publish_due_ = 0;
    bool in_txn_ = false;
    std::unique_ptr<std::atomic<bool>> stopped_ = std::make_unique<std::atomic<bool>>(false);  // movable
    consumer_stats stats_;
};

}  // namespace nats
ROWCAST_NAMESPACE_END
