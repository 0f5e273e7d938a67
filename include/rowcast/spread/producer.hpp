// rowcast/spread/producer.hpp: an event_sink (pipeline/sink.hpp) that multicasts each
// event to a Spread group per table, as smpl-repl did with libspread. docs/spread.md.
//
//   rowcast::spread::producer_options o;
//   o.client.host = "10.0.0.5";
//   o.client.name = "db1";
//   auto sink = rowcast::spread::producer<rowcast::json_codec>::open(o).value();
//   follower.run(sink, stop);
//
// Each event becomes one message (or several fragments, below):
//   group      group_template with <schema> and <table> replaced (spread::group_name():
//              bytes other than [A-Za-z0-9_$-] as %XX, an empty name as "-", a name over 31
//              bytes cut to 22 + "~" + CRC-32): default "rc.<schema>.<table>";
//              transaction boundaries (no table) go to "rc.-.-";
//   service    options.svc (default agreed: one order at every member);
//   mess_type  the codec: json 1, yaml 2, binary 3 (the consumer decodes by it);
//   data       a 24-byte envelope ("RCS1", a sequence number per group counting events
//              from 1, fragment index and count, total length), then the encoded event.
// Size cap: data + 32 bytes (one group) never exceeds max_message (at most 143,152: a
// Spread 5.0.1 daemon crashes on 143,153..143,952). A larger event is sent as fragments of
// at most that size, one after the other from this one connection, which the consumer
// reassembles in order (needs a service with per-sender order: fifo or stronger); with
// fragment = false, or with the unreliable or reliable service, such an event is refused
// (errc::limit_exceeded, permanent). It is never sent as one message.
//
// Delivery: write() returns when the message is in the connection's socket; Spread then
// delivers it to the members of the group at that moment (no history, no acknowledgement:
// a consumer that is not connected misses it). A write that fails (connection lost:
// errc::unavailable, transient) has not consumed its event: rowcast::run() writes it again
// after the backoff, and the client reconnects. A fragmented event cut by a lost connection
// is reported by the consumers as incomplete and then arrives whole. flush() has nothing to
// wait for.
//
// Errors: open(): the client's connect errors, invalid_value for a template that cannot
// make group names or max_message below 1 KiB. write(): limit_exceeded (above), the
// client's send errors.
//
// Thread-safety: one thread at a time; stats() too.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/spread/client.hpp>
#include <rowcast/spread/detail/fragment.hpp>
#include <rowcast/spread/detail/wire.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

ROWCAST_NAMESPACE_BEGIN
namespace spread {

/// The group an event of `schema`.`table` goes to under `group_template` (see the top of
/// this header); a consumer joins the groups this gives for the tables it wants.
inline std::string group_name(std::string_view group_template, std::string_view schema, std::string_view table) {
    return rowcast::detail::spread::group_name(group_template, schema, table);
}

struct producer_options {
    client_options client;
    std::string group_template = "rc.<schema>.<table>";
    service svc = service::agreed;
    /// Cap of data + 32 bytes per group of each message; clamped to 143152 (the daemon's
    /// safe capacity), at least 1024.
    std::size_t max_message = rowcast::detail::spread::safe_capacity;
    bool fragment = true;  ///< false: refuse events above the cap instead of fragmenting them
};

struct producer_stats {
    std::uint64_t events = 0;      ///< events sent whole
    std::uint64_t messages = 0;    ///< Spread messages sent (fragments included)
    std::uint64_t fragmented = 0;  ///< events sent as several fragments
    std::uint64_t refused = 0;     ///< events refused for their size
    std::uint64_t bytes = 0;       ///< encoded event bytes sent

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("events", events, "events sent"));
        v(detail::counter("messages", messages, "Spread messages sent"));
        v(detail::counter("fragmented", fragmented, "events sent in fragments"));
        v(detail::counter("refused", refused, "events refused for their size"));
        v(detail::counter("bytes", bytes, "encoded event bytes sent"));
    }
};

template <event_codec Codec>
class producer {
    static_assert(rowcast::detail::spread::codec_type(Codec::name) != 0,
                  "spread::producer: the codec's name must be json, yaml or binary (the message type names it)");

public:
    static result<producer> open(producer_options o, Codec codec = Codec{}) {
        namespace d = rowcast::detail::spread;
        o.max_message = std::clamp<std::size_t>(o.max_message, 1024, d::safe_capacity);
        const std::string probe = d::group_name(o.group_template, "s", "t");
        if (o.group_template.empty() || probe.find('#') != std::string::npos || !d::check_group_name(probe, false).empty())
            return error::make(errc::invalid_value, "spread", "group_template '" + o.group_template + "'",
                               "does not make a group name (bytes '$'..'~' without '#'; <schema> and <table> are replaced)");
        auto c = client::connect(o.client);
        if (!c) return c.error_value();
        return producer(std::move(o), std::move(*c), std::move(codec));
    }

    producer(producer&&) noexcept = default;
    producer& operator=(producer&&) noexcept = default;

    /// Sends one event (see the top of this header).
    result<void> write(const event& e) {
        namespace d = rowcast::detail::spread;
        if (e.schema != schema_ || e.table != table_ || group_.empty()) {
            schema_ = e.schema;
            table_ = e.table;
            group_ = d::group_name(opt_.group_template, e.schema, e.table);
        }
        payload_.clear();
        codec_.encode(e, payload_);
        const std::size_t chunk = opt_.max_message - d::name_slot - d::envelope_size;
        const std::size_t count = payload_.empty() ? 1 : (payload_.size() + chunk - 1) / chunk;
        if (count > 1) {
            const bool ordered = static_cast<std::uint32_t>(opt_.svc) >= static_cast<std::uint32_t>(service::fifo);
            if (!opt_.fragment || !ordered || payload_.size() > 0xffffffffu) {
                ++stats_.refused;
                return error::make(errc::limit_exceeded, "spread", "group " + group_,
                                   "event of " + std::to_string(payload_.size()) + " bytes exceeds the message cap of " +
                                       std::to_string(opt_.max_message) + " bytes (data + 32 per group) and " +
                                       (!opt_.fragment ? std::string("fragmentation is off")
                                        : !ordered     ? "fragments need the fifo service or stronger, not " + std::string(to_string(opt_.svc))
                                                       : std::string("is over 4 GiB")));
            }
        }
        std::uint64_t& seq = seq_[group_];
        for (std::size_t i = 0; i < count; ++i) {
            body_.clear();
            d::put_envelope(body_, seq + 1, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(count),
                            static_cast<std::uint32_t>(payload_.size()));
            body_.append(std::string_view(payload_).substr(i * chunk, chunk));
            if (auto r = client_.multicast(opt_.svc, group_, type_, body_); !r) {
                if (i > 0) ++seq;  // part of it went out: the consumers saw this number
                return r;
            }
            ++stats_.messages;
        }
        ++seq;
        ++stats_.events;
        if (count > 1) ++stats_.fragmented;
        stats_.bytes += payload_.size();
        return {};
    }

    /// write() each event of `batch` in order (stops at the first failure).
    result<void> write(std::span<const event> batch) { return write_each(*this, batch); }

    /// Nothing is buffered here: the bytes are in the socket when write() returns.
    result<void> flush() { return {}; }

    producer_stats stats() const noexcept { return stats_; }
    client_stats connection_stats() const noexcept { return client_.stats(); }
    const producer_options& options() const noexcept { return opt_; }
    /// The connection (its private group, daemon version, descriptor).
    const spread::client& connection() const noexcept { return client_; }

private:
    producer(producer_options o, spread::client c, Codec codec)
        : opt_(std::move(o)), client_(std::move(c)), codec_(std::move(codec)) {}

    producer_options opt_;
    spread::client client_;
    Codec codec_;
    static constexpr std::int16_t type_ = rowcast::detail::spread::codec_type(Codec::name);
    std::string schema_, table_, group_, payload_, body_;
    std::unordered_map<std::string, std::uint64_t> seq_;  // group -> last sequence number sent
    producer_stats stats_;
};

}  // namespace spread
ROWCAST_NAMESPACE_END
