// rowcast/spread/consumer.hpp: an event_source (pipeline/source.hpp) that joins Spread
// groups and decodes the events spread::producer multicasts there. docs/spread.md.
//
//   rowcast::spread::consumer_options o;
//   o.client.host = "10.0.0.5";
//   o.client.name = "dnsupd";
//   o.groups = {rowcast::spread::group_name("rc.<schema>.<table>", "shop", "items"), "rc.-.-"};
//   o.on_bad = [&](const rowcast::spread::bad_message& b) { quarantine(b); };
//   auto src = rowcast::spread::consumer<rowcast::json_codec, rowcast::binary_codec>::open(o).value();
//   rowcast::run(src, sink, stop);
//
// Decoding: each message is decoded with the codec its message type names (json 1, yaml 2,
// binary 3) among the Codecs given; fragments (same sender, in order) are reassembled first,
// at most max_event_bytes per event and max_partial senders at a time.
//
// Bad messages are reported, never dropped silently: a message that is not a rowcast message
// (no "RCS1" envelope), whose type names no codec of this consumer, whose payload does not
// decode, or a fragmented event that cannot complete (a fragment missing, out of order,
// interleaved, over the limits). Each is logged (error) and counted (stats().bad), then given
// to on_bad with the group, the sender and the reason; without on_bad, process() returns the
// error ([rowcast.spread.<errc>] sender … group …: …; permanent: rowcast::run() stops).
// Gaps: each event carries a sequence number per producer and group; a number skipped
// (messages sent while this consumer was disconnected, or lost) is logged and counted in
// stats().lost. A number going back means the producer restarted (counted in restarts).
//
// Guarantees: Spread keeps no history. A consumer receives what is sent to its groups while
// it is connected and joined; what was sent while it was down or reconnecting is gone (at
// most once across restarts and reconnects; counted in stats().lost when later messages of
// the same producer arrive). Within a connection each event is written to the sink once, in
// the order of the service the producer used. A sink failure keeps the event in memory
// (pending, retried first by the next process()) and nothing more is read meanwhile; a
// process that exits with pending events loses them. Into a transactional_sink the consumer
// calls publish("spread_sender=…\nspread_seq=N") at each group end (the cursor is
// informational: Spread cannot resume from it).
//
// process(sink) reads what the daemon has sent (never waits), at most max_batch messages;
// native_handle() is the connection's socket (-1 while disconnected, next_timeout() then
// says when the client reconnects and re-joins).
//
// Errors: open(): the client's connect errors, invalid_value for a bad group name.
// process(): the client's (unavailable while disconnected: transient), the sink's, and bad
// messages without on_bad.
//
// Thread-safety: one thread at a time (stats() too); stop() from any thread.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/spread/client.hpp>
#include <rowcast/spread/detail/fragment.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace spread {

/// A message the consumer could not turn into an event.
struct bad_message {
    std::string group;        ///< the destination group
    std::string sender;       ///< the sender's private group
    std::int16_t mess_type = 0;
    std::string data;         ///< the message's data (for a broken fragmented event: the fragment at hand)
    error reason;             ///< what is wrong
};

struct consumer_options {
    client_options client;
    std::vector<std::string> groups;              ///< joined by open() (and again after reconnects)
    std::size_t max_event_bytes = 64 << 20;       ///< largest fragmented event reassembled
    std::size_t max_partial = 64;                 ///< senders with a fragmented event in progress
    std::size_t max_batch = 1024;                 ///< messages per process()
    std::function<void(const bad_message&)> on_bad;      ///< quarantine hook (see the top)
    std::function<void(const message&)> on_membership;   ///< membership, transitional and self-leave messages
};

struct consumer_stats {
    std::uint64_t messages = 0;     ///< data messages received (fragments included)
    std::uint64_t events = 0;       ///< events written to the sink
    std::uint64_t reassembled = 0;  ///< events put together from fragments
    std::uint64_t bad = 0;          ///< bad messages reported
    std::uint64_t lost = 0;         ///< events missed (sequence numbers skipped)
    std::uint64_t restarts = 0;     ///< producers seen starting again from a lower number
    std::uint64_t membership = 0;   ///< membership, transitional and self-leave messages
    std::int64_t pending = 0;       ///< gauge: decoded events waiting for the sink

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("messages", messages, "data messages received"));
        v(detail::counter("events", events, "events written to the sink"));
        v(detail::counter("reassembled", reassembled, "events reassembled from fragments"));
        v(detail::counter("bad", bad, "bad messages reported"));
        v(detail::counter("lost", lost, "events missed (sequence gaps)"));
        v(detail::counter("restarts", restarts, "producer restarts seen"));
        v(detail::counter("membership", membership, "membership messages"));
        v(detail::gauge("pending", pending, "decoded events waiting for the sink"));
    }
};

template <event_codec... Codecs>
    requires(sizeof...(Codecs) >= 1)
class consumer {
public:
    /// Connects and joins options.groups.
    static result<consumer> open(consumer_options o, Codecs... codecs) {
        if (o.max_batch == 0) o.max_batch = 1;
        if (o.max_partial == 0) o.max_partial = 1;
        for (const auto& g : o.groups)
            if (auto why = rowcast::detail::spread::check_group_name(g, false); !why.empty())
                return error::make(errc::invalid_value, "spread", "group '" + g + "'", why);
        auto c = client::connect(o.client);
        if (!c) return c.error_value();
        for (const auto& g : o.groups)
            if (auto j = c->join(g); !j) return j.error_value();
        return consumer(std::move(o), std::move(*c), std::tuple<Codecs...>(std::move(codecs)...));
    }
    /// open() with default-constructed codecs.
    static result<consumer> open(consumer_options o)
        requires(std::default_initializable<Codecs> && ...)
    {
        return open(std::move(o), Codecs{}...);
    }

    consumer(consumer&&) noexcept = default;
    consumer& operator=(consumer&&) noexcept = default;

    int native_handle() const noexcept { return client_.native_handle(); }
    std::chrono::milliseconds next_timeout() const noexcept {
        if (stopped_->load()) return std::chrono::milliseconds(-1);
        if (!pending_.empty() || more_) return std::chrono::milliseconds(0);
        return client_.next_timeout();
    }
    /// Never done by itself; true after stop().
    bool done() const noexcept { return stopped_->load(); }
    /// Makes done() true (any thread).
    void stop() noexcept { stopped_->store(true); }

    template <event_sink Sink>
    result<std::size_t> process(Sink& sink) {
        std::size_t delivered = 0;
        more_ = false;
        if constexpr (transactional_sink<Sink>) {
            if (publish_due_) {
                if (auto r = sink.publish(cursor_); !r) return r.error_value();
                publish_due_ = false;
            }
        }
        if (auto r = drain(sink, delivered); !r) return r.error_value();
        for (std::size_t n = 0; n < opt_.max_batch; ++n) {
            auto m = client_.receive();
            if (!m) return m.error_value();
            if (!*m) return delivered;
            if (auto r = handle(**m); !r) return r.error_value();
            if (auto r = drain(sink, delivered); !r) return r.error_value();
        }
        more_ = true;
        return delivered;
    }

    /// Blocking: rowcast::run(*this, sink, stop, opt).
    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop, const run_options& opt = {}) {
        return rowcast::run(*this, sink, std::move(stop), opt);
    }

    consumer_stats stats() const noexcept {
        consumer_stats s = stats_;
        s.pending = static_cast<std::int64_t>(pending_.size());
        return s;
    }
    client_stats connection_stats() const noexcept { return client_.stats(); }
    const consumer_options& options() const noexcept { return opt_; }
    const spread::client& connection() const noexcept { return client_; }

private:
    struct pending_event {
        event ev;
        std::string cursor;
    };

    consumer(consumer_options o, spread::client c, std::tuple<Codecs...> codecs)
        : opt_(std::move(o)), client_(std::move(c)), codecs_(std::move(codecs)),
          parts_(opt_.max_event_bytes, opt_.max_partial) {}

    // Writes the pending events; the first failure keeps it (and those after it) pending.
    template <class Sink>
    result<void> drain(Sink& sink, std::size_t& delivered) {
        while (!pending_.empty()) {
            pending_event& p = pending_.front();
            if (auto w = sink.write(p.ev); !w) return w;  // not consumed: written again next time
            ++delivered;
            ++stats_.events;
            if constexpr (transactional_sink<Sink>) {
                if (ends_group(p.ev, in_txn_)) {
                    cursor_ = std::move(p.cursor);
                    pending_.pop_front();
                    publish_due_ = true;
                    if (auto r = sink.publish(cursor_); !r) return r;
                    publish_due_ = false;
                    continue;
                }
            }
            pending_.pop_front();
        }
        return {};
    }

    result<void> report(const message& m, std::string_view group, error why) {
        ++stats_.bad;
        bad_message b{std::string(group), m.sender, m.mess_type, m.data, std::move(why)};
        if (b.reason.message.find(b.sender) == std::string::npos)
            b.reason = error{b.reason.code, b.reason.message + " [sender " + b.sender + " group " + b.group + "]"};
        rowcast::log(opt_.client.log, log_level::error, "spread", b.reason.message);
        if (!opt_.on_bad) return b.reason;
        opt_.on_bad(b);
        return {};
    }

    // Decodes with the codec that message type `t` names.
    result<event> decode_as(std::int16_t t, std::string_view payload) {
        std::optional<result<event>> out;
        std::apply([&](auto&... c) {
            ((out || rowcast::detail::spread::codec_type(std::decay_t<decltype(c)>::name) != t ? void() : void(out.emplace(decode(c, payload)))), ...);
        }, codecs_);
        if (out) return std::move(*out);
        std::string have;
        std::apply([&](auto&... c) { ((have += (have.empty() ? "" : ", ") + std::string(std::decay_t<decltype(c)>::name)), ...); }, codecs_);
        return error::make(errc::unsupported, "spread", "message type " + std::to_string(t),
                           "names no codec of this consumer (json 1, yaml 2, binary 3; it decodes " + have + ")");
    }

    result<void> handle(const message& m) {
        namespace d = rowcast::detail::spread;
        if (m.kind != message_kind::regular) {
            ++stats_.membership;
            if (m.kind == message_kind::reject)
                rowcast::log(opt_.client.log, log_level::warning, "spread", "the daemon rejected a message sent to " + m.sender);
            if (opt_.on_membership) opt_.on_membership(m);
            return {};
        }
        ++stats_.messages;
        const std::string& group = m.groups.front();  // decoded messages have at least one
        auto env = d::parse_envelope(m.data);
        if (!env) return report(m, group, env.error_value());
        if (env->index == 0) track(m.sender, group, env->seq);
        auto o = parts_.add(m.sender, group, *env);
        if (o.broken)
            if (auto r = report(m, group, *o.broken); !r) return r;
        if (!o.complete) return {};
        if (env->count > 1) ++stats_.reassembled;
        auto ev = decode_as(m.mess_type, o.whole);
        if (!ev) return report(m, group, ev.error_value());
        pending_.push_back({std::move(*ev), "spread_sender=" + m.sender + "\nspread_seq=" + std::to_string(env->seq)});
        return {};
    }

    // Sequence numbers per sender and group: gaps and restarts.
    void track(const std::string& sender, const std::string& group, std::uint64_t seq) {
        if (last_seq_.size() >= 65536) last_seq_.clear();  // bounded: gap counting restarts
        auto [it, fresh] = last_seq_.try_emplace(sender + '\n' + group, seq);
        if (fresh) return;
        const std::uint64_t last = it->second;
        it->second = seq;
        if (seq == last + 1) return;
        if (seq > last) {
            stats_.lost += seq - last - 1;
            rowcast::log(opt_.client.log, log_level::warning, "spread",
                         "sender " + sender + " group " + group + ": " + std::to_string(seq - last - 1) +
                             " events missed (sequence " + std::to_string(last) + " then " + std::to_string(seq) + ")");
        } else {
            ++stats_.restarts;
            rowcast::log(opt_.client.log, log_level::info, "spread",
                         "sender " + sender + " group " + group + " started again at sequence " + std::to_string(seq));
        }
    }

    consumer_options opt_;
    spread::client client_;
    std::tuple<Codecs...> codecs_;
    rowcast::detail::spread::reassembler parts_;
    std::deque<pending_event> pending_;
    std::map<std::string, std::uint64_t> last_seq_;  // sender '\n' group -> last sequence number
    std::string cursor_;
    bool publish_due_ = false, in_txn_ = false, more_ = false;
    std::unique_ptr<std::atomic<bool>> stopped_ = std::make_unique<std::atomic<bool>>(false);  // movable
    consumer_stats stats_;
};

}  // namespace spread
ROWCAST_NAMESPACE_END
