// rowcast/datagram/producer.hpp: an event_sink that multicasts events as
// authenticated, sequenced datagrams (docs/datagram.md) over a link: UDP multicast
// (udp_producer, rowcast/datagram/udp.hpp) or netlink (netlink_producer,
// rowcast/datagram/netlink.hpp).
//
//   rowcast::datagram::producer_options po;
//   po.keys.add(1, secret).value();
//   auto out = rowcast::datagram::udp_producer<rowcast::binary_codec>::open(
//       {.group = "239.10.0.1", .port = 5999}, std::move(po)).value();
//   out.write(events).value();              // a span: several small events per datagram
//
// Each channel (the UDP group; a netlink group) numbers its datagrams 0, 1, 2 …
// within the producer's epoch (a new epoch, the start time in µs, at every open()).
// Consecutive events of one table share a datagram while they fit; an event larger
// than a datagram is sent as fragments on consecutive sequence numbers (at most
// 65535). The last `ring` datagrams of each channel are kept: a receiver's NAK is
// answered from there by unicast, and sequences no longer held are answered with a
// `gone` frame (the receiver reports them as unrecoverable). When idle, a heartbeat
// carrying the next sequence goes out every `heartbeat`, so receivers notice a
// lost tail. A service thread (service_thread, the default) answers NAKs and sends
// heartbeats; without it the caller polls native_handle() and calls service() by
// next_timeout().
//
// Errors: write() refuses an event whose "schema.table" is longer than 255 bytes
// (invalid_value) or that needs more than 65535 fragments (limit_exceeded); a
// datagram the kernel refuses (ENOBUFS, ENETUNREACH…) is counted in send_errors and
// logged: it is in the ring, so receivers get it by repair or report it as lost.
//
// Thread-safety: write()/flush()/service()/stats() are serialised by an internal
// mutex: they may be called from several threads (the UDF does) while the service
// thread runs. Moving or destroying the producer needs no call in progress.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/datagram/detail/link.hpp>
#include <rowcast/datagram/detail/ring.hpp>
#include <rowcast/datagram/frame.hpp>
#include <rowcast/datagram/keys.hpp>
#include <rowcast/datagram/netlink.hpp>
#include <rowcast/datagram/udp.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>

ROWCAST_NAMESPACE_BEGIN
namespace datagram {

struct producer_options {
    key_set keys;                                  ///< empty: no MAC (receivers must have no keys either)
    std::uint64_t source_id = 0;                   ///< 0: random at open(); set it for replay protection across restarts
    std::size_t ring = 4096;                       ///< datagrams kept per channel for repairs
    std::chrono::milliseconds heartbeat{100};      ///< idle interval between heartbeats
    bool service_thread = true;                    ///< answer NAKs and send heartbeats on a thread of its own
    std::size_t max_repairs_per_nak = 1024;        ///< bound on what one NAK can make us send
    log_sink log;                                  ///< default: rowcast::log (component "datagram")
};

struct producer_stats {
    std::uint64_t events = 0, datagrams = 0, fragmented = 0, heartbeats = 0, naks = 0, repairs = 0, gone = 0,
                  refused = 0, send_errors = 0;
    template <class V>
    void visit(V&& v) const {
        v(detail::counter("events", events, "events written"));
        v(detail::counter("datagrams", datagrams, "data datagrams sent (not counting repairs)"));
        v(detail::counter("fragmented", fragmented, "events sent as several fragments"));
        v(detail::counter("heartbeats", heartbeats, "heartbeats sent"));
        v(detail::counter("naks", naks, "authentic NAKs received"));
        v(detail::counter("repairs", repairs, "datagrams re-sent for NAKs"));
        v(detail::counter("gone", gone, "sequences asked for that the ring no longer held"));
        v(detail::counter("refused", refused, "NAKs dropped: malformed, unauthenticated or for another source"));
        v(detail::counter("send_errors", send_errors, "sends the kernel refused (left to repair)"));
    }
};

template <event_codec Codec, class Link>
class producer {
    using clock = std::chrono::steady_clock;

public:
    /// Opens the link (Link::open_sender) and, unless disabled, starts the service thread.
    static result<producer> open(const typename Link::options& lo, producer_options po, Codec codec = Codec{}) {
        auto link = Link::open_sender(lo);
        if (!link) return link.error_value();
        auto c = std::make_unique<core>(std::move(*link), std::move(po), std::move(codec));
        if (header_size + max_table_size + 4 + mac_size + 16 > c->link.max_datagram() && c->link.max_datagram() < 512)
            return error::make(errc::invalid_value, "datagram", "producer", "max_datagram too small");
        c->stop = detail::unique_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!c->stop) return detail::os_error(errno, "datagram", "producer", "eventfd");
        producer p(std::move(c));
        if (p.c_->opt.service_thread) p.thread_ = std::thread([c = p.c_.get()] { c->service_loop(); });
        return p;
    }

    producer(producer&&) noexcept = default;
    producer& operator=(producer&& o) noexcept {
        if (this != &o) {
            halt();
            c_ = std::move(o.c_);
            thread_ = std::move(o.thread_);
        }
        return *this;
    }
    ~producer() { halt(); }

    result<void> write(const event& e) { return write(std::span<const event>(&e, 1)); }
    /// Sends `batch` (packed: consecutive events of one table share datagrams).
    result<void> write(std::span<const event> batch) {
        std::lock_guard lock(c_->mutex);
        return c_->write(batch);
    }
    /// Nothing is held back between writes: a no-op kept for the event_sink concept.
    result<void> flush() { return {}; }

    /// Answers waiting NAKs and sends due heartbeats (when service_thread is false).
    result<void> service() {
        std::lock_guard lock(c_->mutex);
        c_->service(clock::now());
        return {};
    }
    int native_handle() const noexcept { return c_->link.fd(); }
    std::chrono::milliseconds next_timeout() const noexcept { return c_->opt.heartbeat; }

    std::uint64_t source_id() const noexcept { return c_->source_id; }
    std::uint64_t epoch() const noexcept { return c_->epoch; }
    Link& link() noexcept { return c_->link; }
    producer_stats stats() const {
        std::lock_guard lock(c_->mutex);
        return c_->st;
    }

private:
    struct core {
        core(Link l, producer_options o, Codec cd) : link(std::move(l)), opt(std::move(o)), codec(std::move(cd)), naks(16, 65536) {
            source_id = opt.source_id;
            while (source_id == 0)
                if (::getrandom(&source_id, sizeof source_id, 0) != sizeof source_id) source_id = 0;
            static std::atomic<std::uint64_t> last{0};
            const auto now = static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
            std::uint64_t prev = last.load();
            do epoch = std::max(now, prev + 1);
            while (!last.compare_exchange_weak(prev, epoch));
        }

        Link link;
        producer_options opt;
        Codec codec;
        std::uint64_t source_id = 0, epoch = 0;
        std::map<std::uint32_t, detail::datagram::retransmit_ring> channels;
        producer_stats st;
        mutable std::mutex mutex;
        detail::unique_fd stop;
        detail::datagram::recv_buffers naks;
        std::string scratch, table, last_schema, last_name;
        std::uint32_t table_ch = 0;
        std::uint64_t table_gen = 0;  // bumped by table_of() when the table changes (0: none yet)
        std::vector<detail::datagram::out_datagram> out;

        detail::datagram::retransmit_ring& ring_of(std::uint32_t ch) {
            auto it = channels.find(ch);
            if (it == channels.end()) it = channels.emplace(ch, detail::datagram::retransmit_ring(opt.ring)).first;
            return it->second;
        }
        frame_header header(frame_type t, std::uint64_t seq, std::uint32_t ch) const {
            frame_header h;
            h.type = t;
            h.codec = codec_of(Codec::name);
            h.source_id = source_id;
            h.epoch = epoch;
            h.sequence = seq;
            h.channel = ch;
            opt.keys.prepare(h);
            return h;
        }
        void send_out() {
            if (out.empty()) return;
            if (const int err = link.send(out); err != 0) {
                ++st.send_errors;
                log(opt.log, log_level::warning, "datagram",
                    detail::os_error(err, "datagram", Link::name, "send (left to repair)").message);
            }
            out.clear();
        }

        // The "schema.table" of `e` in `table` and its channel in `table_ch`, recomputed only
        // when the event's table differs from the previous one (channel_of may hash).
        void table_of(const event& e) {
            if (table_gen != 0 && e.schema == last_schema && e.table == last_name) return;
            last_schema.assign(e.schema);
            last_name.assign(e.table);
            table.clear();
            if (!e.table.empty()) table.append(e.schema).append(".").append(e.table);
            table_ch = table.size() > max_table_size ? 0 : link.channel_of(table);
            ++table_gen;
        }

        result<void> write(std::span<const event> batch) {
            out.clear();
            std::string* open = nullptr;  // the datagram being filled (a ring slot)
            std::uint32_t open_ch = 0;
            std::uint64_t open_gen = 0;  // table_gen of the open datagram's table
            std::uint16_t open_n = 0;
            const auto now = clock::now();  // one write is one send time for the heartbeat clock
            const std::size_t max = link.max_datagram();
            const std::size_t limit = max - (opt.keys.active() ? mac_size : 0);  // bytes before the MAC
            const std::size_t flush_at = std::min<std::size_t>(64, std::max<std::size_t>(1, opt.ring / 2));
            auto close = [&] {
                if (!open) return;
                patch_event_count(*open, 0, open_n);
                opt.keys.sign(*open);
                out.push_back({*open, nullptr, open_ch});
                ++st.datagrams;
                open = nullptr;
                if (out.size() >= flush_at) send_out();
            };
            for (const event& e : batch) {
                table_of(e);
                if (table.size() > max_table_size) {
                    close();
                    send_out();
                    return error::make(errc::invalid_value, "datagram", table.substr(0, 64) + "…", "table name over 255 bytes");
                }
                const std::uint32_t ch = table_ch;
                if (open && (table_gen != open_gen || open_n == 65535)) close();
                if (open) {
                    // Encoded straight into the open datagram behind a 4-byte length; taken
                    // back out (to start a datagram of its own) when it does not fit.
                    const std::size_t at = open->size();
                    open->append(4, '\0');
                    try {
                        codec.encode(e, *open);
                    } catch (...) {
                        open->resize(at);
                        close();
                        send_out();
                        throw;
                    }
                    const std::size_t n = open->size() - at - 4;
                    if (open->size() <= limit) {
                        detail::datagram::patch_length(*open, at, n);
                        ++open_n;
                        ++st.events;
                        continue;
                    }
                    scratch.assign(*open, at + 4, n);
                    open->resize(at);
                    close();
                } else {
                    scratch.clear();
                    codec.encode(e, scratch);
                }
                const std::size_t room = limit - header_size - table.size();
                if (4 + scratch.size() <= room) {
                    auto& ring = ring_of(ch);
                    open = &ring.claim();
                    ring.last_send = now;
                    write_header(*open, header(frame_type::data, ring.next() - 1, ch), table);
                    open_ch = ch;
                    open_gen = table_gen;
                    open_n = 1;
                    detail::datagram::put32(*open, static_cast<std::uint32_t>(scratch.size()));
                    open->append(scratch);
                } else {
                    const std::size_t piece = room;
                    const std::size_t count = (scratch.size() + piece - 1) / piece;
                    if (count > 65535) {
                        send_out();
                        return error::make(errc::limit_exceeded, "datagram", table, "event of " + std::to_string(scratch.size()) +
                                                                                        " bytes needs over 65535 fragments");
                    }
                    auto& ring = ring_of(ch);
                    for (std::size_t i = 0; i < count; ++i) {
                        std::string& d = ring.claim();
                        frame_header h = header(frame_type::data, ring.next() - 1, ch);
                        h.fragment_index = static_cast<std::uint16_t>(i);
                        h.fragment_count = static_cast<std::uint16_t>(count);
                        h.event_count = 1;
                        write_header(d, h, table);
                        d.append(std::string_view(scratch).substr(i * piece, piece));
                        opt.keys.sign(d);
                        out.push_back({d, nullptr, ch});
                        ++st.datagrams;
                        if (out.size() >= flush_at) send_out();
                    }
                    ring.last_send = now;
                    ++st.fragmented;
                }
                ++st.events;
            }
            close();
            send_out();
            return {};
        }

        void answer(const frame_view& f, const detail::datagram::peer& from) {
            auto it = channels.find(f.header.channel);
            if (f.header.source_id != source_id || f.header.epoch != epoch || it == channels.end()) {
                ++st.refused;
                return;
            }
            ++st.naks;
            auto& ring = it->second;
            std::string_view p = f.payload;
            if (p.size() < 2) {
                ++st.refused;
                return;
            }
            std::size_t ranges = detail::datagram::get(p.data(), 2);
            p.remove_prefix(2);
            std::size_t budget = opt.max_repairs_per_nak;
            std::vector<std::string> gone_frames;
            for (; ranges > 0 && p.size() >= 12; --ranges, p.remove_prefix(12)) {
                const std::uint64_t first = detail::datagram::get(p.data(), 8);
                const std::uint64_t count = detail::datagram::get(p.data() + 8, 4);
                if (count == 0 || first >= ring.next()) continue;
                const std::uint64_t last = std::min(first + count, ring.next()) - 1;
                if (first < ring.oldest()) {
                    std::string g;
                    write_header(g, header(frame_type::gone, first, f.header.channel), {});
                    detail::datagram::put64(g, std::min(last, ring.oldest() - 1));
                    opt.keys.sign(g);
                    gone_frames.push_back(std::move(g));
                    st.gone += std::min(last, ring.oldest() - 1) - first + 1;
                }
                for (std::uint64_t s = std::max(first, ring.oldest()); s <= last && budget > 0; ++s, --budget) {
                    out.push_back({*ring.get(s), &from, f.header.channel});
                    ++st.repairs;
                }
            }
            for (const auto& g : gone_frames) out.push_back({g, &from, f.header.channel});
            send_out();
        }

        void service(clock::time_point now) {
            for (;;) {
                const int n = link.receive(naks, false);
                if (n <= 0) break;
                for (int i = 0; i < n; ++i) {
                    const auto idx = static_cast<std::size_t>(i);
                    auto f = parse_frame(naks.bytes(idx));
                    if (!f || naks.truncated(idx) || naks.refused(idx) || f->header.type != frame_type::nak ||
                        opt.keys.verify(*f) != key_set::verdict::ok) {
                        ++st.refused;
                        continue;
                    }
                    answer(*f, naks.from(idx));
                }
                if (static_cast<std::size_t>(n) < naks.slots()) break;
            }
            std::vector<std::string> beats;
            beats.reserve(channels.size());  // `out` holds views into it
            for (auto& [ch, ring] : channels) {
                if (now - ring.last_send < opt.heartbeat) continue;
                std::string& h = beats.emplace_back();
                write_header(h, header(frame_type::heartbeat, ring.next(), ch), {});
                opt.keys.sign(h);
                ring.last_send = now;
                out.push_back({h, nullptr, ch});
                ++st.heartbeats;
            }
            send_out();
        }

        void service_loop() {
            for (;;) {
                pollfd fds[2] = {{stop.get(), POLLIN, 0}, {link.fd(), POLLIN, 0}};
                const int ms = static_cast<int>(std::max<std::int64_t>(1, opt.heartbeat.count() / 2));
                const int r = ::poll(fds, 2, ms);
                if (r > 0 && (fds[0].revents & POLLIN)) return;
                std::lock_guard lock(mutex);
                service(clock::now());
            }
        }
    };

    explicit producer(std::unique_ptr<core> c) : c_(std::move(c)) {}
    void halt() noexcept {
        if (thread_.joinable()) {
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto n = ::write(c_->stop.get(), &one, sizeof one);
            thread_.join();
        }
    }

    std::unique_ptr<core> c_;
    std::thread thread_;
};

template <event_codec Codec>
using udp_producer = producer<Codec, udp_link>;
template <event_codec Codec>
using netlink_producer = producer<Codec, netlink_link>;

}  // namespace datagram
ROWCAST_NAMESPACE_END
