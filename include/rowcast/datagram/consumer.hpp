// rowcast/datagram/consumer.hpp: an event_source that receives the datagrams of
// datagram::producer (docs/datagram.md) over a link: UDP multicast (udp_consumer)
// or netlink (netlink_consumer), and delivers their events in order, once.
//
//   rowcast::datagram::consumer_options co;
//   co.keys.add(1, secret).value();
//   co.on_loss = [](const rowcast::datagram::loss_report& r) { … };
//   auto in = rowcast::datagram::udp_consumer<rowcast::binary_codec>::open(
//       {.group = "239.10.0.1", .port = 5999}, std::move(co)).value();
//   rowcast::run(in, sink, stop);
//
// Per sender (source id) and channel, datagrams are delivered in sequence order.
// A gap (seen from a later datagram or a heartbeat) is reported (on_loss, kind gap)
// and a repair is asked for by unicast NAK every nak_interval; after nak_tries NAKs,
// when the sender answers that the sequences left its ring, when more than
// max_pending datagrams wait behind it, or when the sender is silent for
// source_timeout, the gap is given up and reported as unrecoverable with its
// sequence range and the source position (binlog file:offset or GTID) of the last
// event delivered before it: a consumer can re-read the binlog from there. An event
// whose fragments cannot all be had is reported (kind incomplete), never delivered
// cut. A new consumer starts with the first datagram it sees (or asks for up to
// catch_up earlier ones: a consumer started before its senders sets it so that a
// lost first datagram is repaired too); a sender's new epoch (a restart) is taken
// from sequence 0.
//
// Dropped and counted, never delivered: datagrams that do not parse or were cut
// (malformed), without a MAC when keys are set or from a sender the link refuses
// (netlink_options::senders) (unauthenticated), with an unknown
// key or a wrong MAC (forged), already delivered or of an older epoch (replayed),
// of a table not in `tables` (other_table, before decoding), of another codec.
// An event that does not decode is counted (decode_errors) and logged.
//
// Thread-safety: one thread at a time.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/datagram/detail/link.hpp>
#include <rowcast/datagram/detail/receiver.hpp>
#include <rowcast/datagram/frame.hpp>
#include <rowcast/datagram/keys.hpp>
#include <rowcast/datagram/netlink.hpp>
#include <rowcast/datagram/udp.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/pipeline/source.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace datagram {

struct consumer_options {
    key_set keys;                                          ///< must match the producers' (empty: no authentication)
    std::vector<std::string> tables;                       ///< "schema.table" to deliver; empty: all (events without a table always pass)
    std::function<void(const loss_report&)> on_loss;       ///< every gap, give-up and incomplete event (also logged)
    std::size_t max_pending = 4096;                        ///< out-of-order datagrams held per sender and channel
    std::chrono::milliseconds nak_interval{20};            ///< between NAKs for one gap
    unsigned nak_tries = 10;                               ///< NAKs before a gap is given up
    std::chrono::milliseconds source_timeout{5000};        ///< a silent sender's open gap is given up after this
    std::size_t max_event_bytes = 16u << 20;               ///< largest event reassembled from fragments
    std::uint64_t catch_up = 0;                            ///< on first contact with a sender, ask for up to this many
                                                           ///< earlier datagrams (0: start with the first one seen)
    std::size_t batch = 64;                                ///< datagrams per recvmmsg()
    log_sink log;                                          ///< default: rowcast::log (component "datagram")
};

struct consumer_stats {
    std::uint64_t datagrams = 0, events = 0, malformed = 0, unauthenticated = 0, forged = 0, replayed = 0,
                  other_table = 0, wrong_codec = 0, decode_errors = 0, gaps = 0, missing = 0, repaired = 0,
                  unrecoverable = 0, incomplete = 0, naks = 0, overruns = 0, restarts = 0;
    template <class V>
    void visit(V&& v) const {
        v(detail::counter("datagrams", datagrams, "datagrams received"));
        v(detail::counter("events", events, "events delivered"));
        v(detail::counter("malformed", malformed, "datagrams dropped: not a frame, or cut"));
        v(detail::counter("unauthenticated", unauthenticated, "datagrams dropped: no MAC, or a sender the link refuses"));
        v(detail::counter("forged", forged, "datagrams dropped: unknown key or wrong MAC"));
        v(detail::counter("replayed", replayed, "datagrams dropped: already delivered or of an older epoch"));
        v(detail::counter("other_table", other_table, "datagrams skipped: a table not asked for"));
        v(detail::counter("wrong_codec", wrong_codec, "datagrams dropped: another codec"));
        v(detail::counter("decode_errors", decode_errors, "events that did not decode"));
        v(detail::counter("gaps", gaps, "gaps detected"));
        v(detail::counter("missing", missing, "sequences found missing"));
        v(detail::counter("repaired", repaired, "missing datagrams that arrived later"));
        v(detail::counter("unrecoverable", unrecoverable, "datagrams given up"));
        v(detail::counter("incomplete", incomplete, "events dropped for missing fragments"));
        v(detail::counter("naks", naks, "NAKs sent"));
        v(detail::counter("overruns", overruns, "receive buffer overruns (ENOBUFS)"));
        v(detail::counter("restarts", restarts, "senders seen with a new epoch"));
    }
};

template <event_codec Codec, class Link>
class consumer {
    using clock = std::chrono::steady_clock;

public:
    static result<consumer> open(const typename Link::options& lo, consumer_options co, Codec codec = Codec{}) {
        auto link = Link::open_receiver(lo);
        if (!link) return link.error_value();
        return consumer(std::make_unique<core>(std::move(*link), std::move(co), std::move(codec)));
    }

    int native_handle() const noexcept { return c_->link.fd(); }
    std::chrono::milliseconds next_timeout() const noexcept {
        if (c_->used) return std::chrono::milliseconds(0);
        const auto t = c_->rx.next_deadline();
        if (t == clock::time_point::max()) return std::chrono::milliseconds(-1);
        const auto now = clock::now();
        return t <= now ? std::chrono::milliseconds(0)
                        : std::chrono::ceil<std::chrono::milliseconds>(t - now);
    }
    bool done() const noexcept { return false; }

    /// Reads what is waiting (a bounded number of recvmmsg() calls), sends due NAKs,
    /// and delivers the events now in order to `sink` (one batch write).
    template <event_sink Sink>
    result<std::size_t> process(Sink& sink) {
        core& c = *c_;
        if (c.used) {
            if (auto r = c.flush_to(sink); !r) return r.error_value();
        }
        for (int round = 0; round < 16; ++round) {
            bool more = false;
            for (bool control : {false, true}) {
                const int n = c.link.receive(c.buf, control);
                if (n == -ENOBUFS) {
                    ++c.st.overruns;
                    log(c.opt.log, log_level::warning, "datagram", "[rowcast.datagram.io_error] receive: buffer overrun (ENOBUFS), lost datagrams will be asked for");
                    more = true;
                    continue;
                }
                if (n < 0) return detail::os_error(-n, "datagram", Link::name, "receive");
                const auto now = clock::now();
                for (int i = 0; i < n; ++i) c.handle(static_cast<std::size_t>(i), now);
                if (static_cast<std::size_t>(n) == c.buf.slots()) more = true;
            }
            if (!more) break;
        }
        c.tick(clock::now());
        return c.flush_to(sink);
    }

    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop) {
        return rowcast::run(*this, sink, stop);
    }

    consumer_stats stats() const {
        consumer_stats s = c_->st;
        const auto& r = c_->rx.stats();
        s.replayed += r.duplicates + r.stale_epoch;
        s.gaps = r.gaps;
        s.missing = r.missing;
        s.repaired = r.repaired;
        s.unrecoverable = r.unrecoverable;
        s.incomplete = r.incomplete;
        s.naks = r.naks;
        s.restarts = r.restarts;
        return s;
    }
    Link& link() noexcept { return c_->link; }

private:
    struct core {
        core(Link l, consumer_options o, Codec cd)
            : link(std::move(l)), opt(std::move(o)), codec(std::move(cd)), buf(std::max<std::size_t>(1, opt.batch), 65536),
              rx({opt.max_pending, opt.nak_interval, opt.nak_tries, opt.source_timeout, opt.max_event_bytes, opt.catch_up},
                 [this](const frame_view& f, std::string_view p, bool single) { emit(f, p, single); },
                 [this](loss_report&& r) { report(std::move(r)); }),
              tables(opt.tables.begin(), opt.tables.end()) {}

        Link link;
        consumer_options opt;
        Codec codec;
        detail::datagram::recv_buffers buf;
        detail::datagram::receiver rx;
        std::set<std::string, std::less<>> tables;
        consumer_stats st;
        std::vector<event> events;  // events[0, used) wait for the sink; the rest are reused storage
        std::size_t used = 0;
        // Per sender and channel, the source position of the last event delivered (made into
        // text only for a loss report: copying it reuses the strings' storage).
        std::map<std::pair<std::uint64_t, std::uint32_t>, source_position> last_position;
        std::string nak;

        void handle(std::size_t i, clock::time_point now) {
            ++st.datagrams;
            if (buf.refused(i)) {  // the link's sender check (netlink_options::senders)
                ++st.unauthenticated;
                return;
            }
            if (buf.truncated(i)) {
                ++st.malformed;
                return;
            }
            auto f = parse_frame(buf.bytes(i));
            if (!f || f->header.type == frame_type::nak) {
                ++st.malformed;
                return;
            }
            switch (opt.keys.verify(*f)) {
                case key_set::verdict::ok: break;
                case key_set::verdict::unauthenticated: ++st.unauthenticated; return;
                case key_set::verdict::unknown_key:
                case key_set::verdict::bad_mac: ++st.forged; return;
            }
            rx.on_frame(*f, buf.bytes(i), buf.from(i), now);
        }

        void emit(const frame_view& f, std::string_view payload, bool single) {
            if (!f.table.empty() && !tables.empty() && !tables.count(f.table)) {
                ++st.other_table;
                return;
            }
            if (f.header.codec != codec_of(Codec::name)) {
                ++st.wrong_codec;
                return;
            }
            auto one = [&](std::string_view bytes) -> result<void> {
                if (used == events.size()) events.emplace_back();
                event& e = events[used];
                auto n = codec.decode(bytes, e);
                if (!n || *n != bytes.size()) {
                    ++st.decode_errors;
                    log(opt.log, log_level::error, "datagram",
                        n ? std::string("[rowcast.datagram.trailing_data] event: bytes after the event") : n.error_value().message);
                    return {};
                }
                ++used;
                return {};
            };
            if (single) (void)one(payload);
            else if (auto r = for_each_event(f, one); !r) {
                ++st.malformed;
                log(opt.log, log_level::error, "datagram", r.error_value().message);
            }
            if (used) {
                const auto& src = events[used - 1].source;
                if (!src.gtid.empty() || !src.file.empty()) last_position[{f.header.source_id, f.header.channel}] = src;
            }
        }

        void report(loss_report&& r) {
            if (auto it = last_position.find({r.source_id, r.channel}); it != last_position.end())
                r.resume_after = !it->second.gtid.empty() ? it->second.gtid : it->second.file + ":" + std::to_string(it->second.offset);
            if (r.kind != loss_kind::gap)
                log(opt.log, log_level::warning, "datagram",
                    std::string("[rowcast.datagram.") + (r.kind == loss_kind::unrecoverable ? "unrecoverable" : "incomplete") +
                        "] source " + std::to_string(r.source_id) + " channel " + std::to_string(r.channel) + ": sequences " +
                        std::to_string(r.first) + ".." + std::to_string(r.last) + " lost (" + r.reason + ")" +
                        (r.resume_after.empty() ? "" : "; resume after " + r.resume_after));
            if (opt.on_loss) opt.on_loss(r);
        }

        void tick(clock::time_point now) {
            rx.tick(now, [&](const detail::datagram::peer& to, std::uint64_t source, std::uint64_t epoch, std::uint32_t ch,
                             const std::vector<std::pair<std::uint64_t, std::uint32_t>>& ranges) {
                frame_header h;
                h.type = frame_type::nak;
                h.source_id = source;
                h.epoch = epoch;
                h.channel = ch;
                opt.keys.prepare(h);
                nak.clear();
                write_header(nak, h, {});
                detail::datagram::put16(nak, static_cast<std::uint16_t>(ranges.size()));
                for (const auto& [first, count] : ranges) {
                    detail::datagram::put64(nak, first);
                    detail::datagram::put32(nak, count);
                }
                opt.keys.sign(nak);
                if (const int err = link.send_to(nak, to); err != 0)
                    log(opt.log, log_level::warning, "datagram", detail::os_error(err, "datagram", Link::name, "NAK").message);
            });
        }

        template <class Sink>
        result<std::size_t> flush_to(Sink& sink) {
            if (!used) return std::size_t{0};
            if (auto r = sink.write(std::span<const event>(events.data(), used)); !r) return r.error_value();
            const std::size_t n = used;
            st.events += n;
            used = 0;
            return n;
        }
    };

    explicit consumer(std::unique_ptr<core> c) : c_(std::move(c)) {}
    std::unique_ptr<core> c_;
};

template <event_codec Codec>
using udp_consumer = consumer<Codec, udp_link>;
template <event_codec Codec>
using netlink_consumer = consumer<Codec, netlink_link>;

}  // namespace datagram
ROWCAST_NAMESPACE_END
