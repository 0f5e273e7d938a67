// Internal: the receiving side's per-source state machine, independent of sockets:
// orders datagrams by sequence, detects gaps (from later datagrams and heartbeats),
// schedules NAKs, gives up on gaps that cannot be repaired, and reassembles
// fragments with a bounded buffer. The consumer feeds it authenticated frames and
// acts on its callbacks.
#pragma once

#include <rowcast/datagram/detail/link.hpp>
#include <rowcast/datagram/frame.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace datagram {

enum class loss_kind {
    gap,             ///< sequences found missing; a repair is asked for (may still arrive)
    unrecoverable,   ///< sequences given up: never delivered
    incomplete,      ///< an event's fragments could not all be had (or it was over max_event_bytes): dropped
};

/// What a consumer's on_loss callback gets.
struct loss_report {
    loss_kind kind = loss_kind::gap;
    std::uint64_t source_id = 0, epoch = 0;
    std::uint32_t channel = 0;
    std::uint64_t first = 0, last = 0;  ///< sequence range, inclusive
    std::string reason;                 ///< "no repair after N NAKs", "gone from the sender's ring", …
    std::string resume_after;           ///< the source position ("file:offset", GTID) of the last event
                                        ///< delivered from this channel before the loss; empty if none
};

}  // namespace datagram

namespace detail::datagram {

using rowcast::datagram::frame_type;
using rowcast::datagram::frame_view;
using rowcast::datagram::loss_kind;
using rowcast::datagram::loss_report;

struct receiver_config {
    std::size_t max_pending = 4096;                       ///< out-of-order datagrams held per stream
    std::chrono::milliseconds nak_interval{20};           ///< between NAKs for one gap
    unsigned nak_tries = 10;                              ///< NAKs before a gap is given up
    std::chrono::milliseconds source_timeout{5000};       ///< silence after which an open gap is given up
    std::size_t max_event_bytes = 16u << 20;              ///< reassembly bound per stream
    std::uint64_t catch_up = 0;                           ///< on first contact, ask for this many earlier datagrams
};

class receiver {
public:
    using clock = std::chrono::steady_clock;
    /// emit(frame, payload, whole): `whole` = one reassembled event; otherwise a data frame's payload
    using emit_fn = std::function<void(const frame_view&, std::string_view payload, bool single)>;
    using report_fn = std::function<void(loss_report&&)>;

    struct counters {
        std::uint64_t duplicates = 0, stale_epoch = 0, gaps = 0, missing = 0, repaired = 0, unrecoverable = 0,
                      incomplete = 0, naks = 0, restarts = 0;
    };

    receiver(receiver_config c, emit_fn emit, report_fn report) : cfg_(c), emit_(std::move(emit)), report_(std::move(report)) {}

    /// An authenticated data, heartbeat or gone frame from `from`.
    void on_frame(const frame_view& f, std::string_view raw, const peer& from, clock::time_point now) {
        const key k{f.header.source_id, f.header.channel};
        auto it = streams_.find(k);
        if (it == streams_.end()) {
            if (f.header.type == frame_type::gone) return;
            stream s;
            s.epoch = f.header.epoch;
            const std::uint64_t back = std::min<std::uint64_t>(f.header.sequence, cfg_.catch_up);
            s.next = s.high = f.header.sequence - back;  // with catch_up, the datagrams before are asked for
            s.skipping = back == 0 && f.header.type == frame_type::data && f.header.fragment_index != 0;
            it = streams_.emplace(k, std::move(s)).first;
        }
        stream& s = it->second;
        if (f.header.epoch < s.epoch) {
            ++c_.stale_epoch;
            return;
        }
        s.from = from;
        s.last_heard = now;
        if (f.header.epoch > s.epoch) {  // the sender restarted: what the old epoch still owed is lost
            ++c_.restarts;
            give_up(k, s, s.high, "the sender restarted (new epoch)");
            drop_partial(k, s, "the sender restarted (new epoch)");
            s = stream{};
            s.epoch = f.header.epoch;
            s.from = from;
            s.last_heard = now;
        }
        const std::uint64_t seq = f.header.sequence;
        switch (f.header.type) {
            case frame_type::heartbeat:
                note_high(k, s, seq, false, now);
                break;
            case frame_type::gone: {
                if (raw.size() < 8 || f.payload.size() < 8) return;
                const std::uint64_t last = get(f.payload.data(), 8);
                if (seq <= s.next && last >= s.next && s.next < s.high) {
                    std::uint64_t end = std::min(last + 1, s.high);
                    if (!s.pending.empty()) end = std::min(end, s.pending.begin()->first);
                    give_up(k, s, end, "gone from the sender's retransmit ring");
                    drain(k, s);
                }
                break;
            }
            case frame_type::data: {
                if (seq < s.next || s.pending.count(seq)) {
                    ++c_.duplicates;
                    return;
                }
                if (seq - s.next >= cfg_.max_pending) {  // too far ahead to hold: give up what lies between
                    give_up(k, s, seq + 1 - cfg_.max_pending, "more than max_pending datagrams behind");
                    drain(k, s);
                }
                if (seq < s.high) ++c_.repaired;
                note_high(k, s, seq + 1, true, now);
                if (seq == s.next) {
                    deliver(k, s, f);
                    ++s.next;
                    drain(k, s);
                } else {
                    s.pending.emplace(seq, std::string(raw));
                }
                break;
            }
            case frame_type::nak: break;
        }
    }

    /// NAKs and give-ups due at `now`: nak(stream's sender, source, epoch, channel, missing ranges).
    template <class Nak>
    void tick(clock::time_point now, Nak&& nak) {
        for (auto& [k, s] : streams_) {
            if (s.next < s.high || s.partial_active) {
                if (now - s.last_heard > cfg_.source_timeout) {
                    give_up(k, s, s.high, "the sender fell silent");
                    drain(k, s);
                    if (s.next >= s.high) drop_partial(k, s, "the sender fell silent");
                    continue;
                }
            }
            // give up the gaps that have had nak_tries NAKs' time (each gap its own time, so a
            // stream with many gaps does not wait for them one after another)
            const auto patience = cfg_.nak_interval * static_cast<int>(cfg_.nak_tries);
            while (!s.gaps.empty() && (s.gaps.front().first <= s.next || s.gaps.front().second + patience <= now)) {
                const std::uint64_t end = s.gaps.front().first;
                s.gaps.pop_front();
                if (end > s.next) {
                    give_up(k, s, end, "no repair after " + std::to_string(cfg_.nak_tries) + " NAKs");
                    drain(k, s);
                }
            }
            if (s.next >= s.high || now < s.nak_due) continue;
            std::vector<std::pair<std::uint64_t, std::uint32_t>> ranges;
            std::uint64_t at = s.next;
            for (auto pit = s.pending.begin(); at < s.high && ranges.size() < 64;) {
                const std::uint64_t stop = pit == s.pending.end() ? s.high : pit->first;
                if (stop > at) ranges.emplace_back(at, static_cast<std::uint32_t>(std::min<std::uint64_t>(stop - at, 0xffffffffu)));
                if (pit == s.pending.end()) break;
                at = pit->first + 1;
                ++pit;
            }
            ++c_.naks;
            s.nak_due = now + cfg_.nak_interval;
            nak(s.from, k.source, s.epoch, k.channel, ranges);
        }
    }

    /// The earliest time tick() has work (clock::time_point::max() if none).
    clock::time_point next_deadline() const noexcept {
        auto t = clock::time_point::max();
        for (const auto& [k, s] : streams_)
            if (s.next < s.high || s.partial_active) {
                t = std::min(t, s.last_heard + cfg_.source_timeout);
                if (s.next < s.high) t = std::min(t, s.nak_due);
            }
        return t;
    }

    const counters& stats() const noexcept { return c_; }
    std::size_t streams() const noexcept { return streams_.size(); }
    std::size_t pending() const noexcept {
        std::size_t n = 0;
        for (const auto& [k, s] : streams_) n += s.pending.size();
        return n;
    }

private:
    struct key {
        std::uint64_t source;
        std::uint32_t channel;
        friend auto operator<=>(const key&, const key&) = default;
    };
    struct stream {
        std::uint64_t epoch = 0, next = 0, high = 0;
        std::map<std::uint64_t, std::string> pending;
        peer from;
        clock::time_point last_heard{}, nak_due{};
        std::deque<std::pair<std::uint64_t, clock::time_point>> gaps;  // (end of a missing range, when seen)
        bool skipping = false, partial_active = false;
        std::string partial;
        std::uint16_t frag_next = 0;
        std::uint64_t partial_first = 0;
    };

    // A data frame at high-1 or a heartbeat announcing `high` as the next sequence: what lies
    // between the old high and the new one (less the data frame itself) is missing.
    void note_high(const key& k, stream& s, std::uint64_t high, bool data, clock::time_point now) {
        if (high <= s.high) return;
        const std::uint64_t first = s.high, end = data ? high - 1 : high;
        s.high = high;
        if (end <= first) return;
        if (first - s.next <= s.pending.size()) s.nak_due = now;  // no gap was open before this one: NAK now
        s.gaps.emplace_back(end, now);
        ++c_.gaps;
        c_.missing += end - first;
        report(loss_kind::gap, k, s, first, end - 1, "asking for a repair");
    }

    void report(loss_kind kind, const key& k, const stream& s, std::uint64_t first, std::uint64_t last, std::string reason) {
        loss_report r;
        r.kind = kind;
        r.source_id = k.source;
        r.epoch = s.epoch;
        r.channel = k.channel;
        r.first = first;
        r.last = last;
        r.reason = std::move(reason);
        report_(std::move(r));
    }

    void deliver(const key& k, stream& s, const frame_view& f) {
        const auto& h = f.header;
        if (h.fragment_count == 1) {
            if (s.partial_active) drop_partial(k, s, "cut by the next event");
            s.skipping = false;
            emit_(f, f.payload, false);
            return;
        }
        if (h.fragment_index == 0) {
            if (s.partial_active) drop_partial(k, s, "cut by the next event");
            s.skipping = false;
            s.partial_active = true;
            s.partial.clear();
            s.frag_next = 0;
            s.partial_first = h.sequence;
        }
        if (s.skipping || !s.partial_active) return;  // joined in the middle of an event
        if (h.fragment_index != s.frag_next) {
            drop_partial(k, s, "fragment out of order");
            return;
        }
        if (s.partial.size() + f.payload.size() > cfg_.max_event_bytes) {
            drop_partial(k, s, "event over max_event_bytes");
            s.skipping = true;
            return;
        }
        s.partial.append(f.payload);
        ++s.frag_next;
        if (s.frag_next == h.fragment_count) {
            s.partial_active = false;
            emit_(f, s.partial, true);
            s.partial.clear();
        }
    }

    void drain(const key& k, stream& s) {
        while (!s.pending.empty() && s.pending.begin()->first <= s.next) {
            auto node = s.pending.extract(s.pending.begin());
            if (node.key() < s.next) continue;
            if (auto f = rowcast::datagram::parse_frame(node.mapped())) deliver(k, s, *f);
            ++s.next;
        }
    }

    // Gives up every sequence in [next, end) that is missing (one report per missing run),
    // delivering the datagrams held in that range in order.
    void give_up(const key& k, stream& s, std::uint64_t end, const std::string& reason) {
        while (s.next < end) {
            auto it = s.pending.find(s.next);
            if (it != s.pending.end()) {
                std::string d = std::move(it->second);
                s.pending.erase(it);
                if (auto f = rowcast::datagram::parse_frame(d)) deliver(k, s, *f);
                ++s.next;
                continue;
            }
            const std::uint64_t first = s.next;
            const auto held = s.pending.lower_bound(s.next);  // jump over the missing run (it may be huge)
            s.next = held == s.pending.end() ? end : std::min(end, held->first);
            c_.unrecoverable += s.next - first;
            if (s.partial_active) drop_partial(k, s, reason);
            s.skipping = true;  // fragments that follow belong to an event whose start was lost
            report(loss_kind::unrecoverable, k, s, first, s.next - 1, reason);
        }
    }

    void drop_partial(const key& k, stream& s, const std::string& reason) {
        if (!s.partial_active) return;
        s.partial_active = false;
        s.partial.clear();
        ++c_.incomplete;
        report(loss_kind::incomplete, k, s, s.partial_first, s.next, reason);
    }

    receiver_config cfg_;
    emit_fn emit_;
    report_fn report_;
    std::map<key, stream> streams_;
    counters c_;
};

}  // namespace detail::datagram
ROWCAST_NAMESPACE_END
