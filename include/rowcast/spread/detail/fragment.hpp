// Internal: rowcast's envelope inside each Spread message (sequence number and
// fragment position) and the consumer's bounded reassembly (docs/spread.md, "Size cap").
//
// Envelope, 24 bytes, little endian, before the payload bytes of every message:
//   0  4  magic "RCS1"
//   4  8  sequence number: per producer and group, from 1, +1 per event
//  12  4  fragment index (0..count-1)
//  16  4  fragment count (>= 1)
//  20  4  total payload length of the event (all fragments)
#pragma once

#include <rowcast/codec/names.hpp>
#include <rowcast/detail/crc32.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace detail::spread {

/// The Spread message type that names a codec: json 1, yaml 2, binary 3 (codec_kind + 1);
/// 0 for a name rowcast does not know.
constexpr std::int16_t codec_type(std::string_view codec_name) noexcept {
    for (std::size_t i = 0; i < codec_names.size(); ++i)
        if (codec_names[i] == codec_name) return static_cast<std::int16_t>(i + 1);
    return 0;
}

/// `tmpl` with <schema> and <table> replaced: bytes other than [A-Za-z0-9_$-] as %XX, an
/// empty name as "-". A result longer than 31 bytes keeps its first 22 bytes and ends in
/// "~" and the CRC-32 of the whole name in hex (31 bytes): deterministic, so producer and
/// consumer agree.
inline std::string group_name(std::string_view tmpl, std::string_view schema, std::string_view table) {
    std::string g;
    auto put = [&](std::string_view v) {
        if (v.empty()) g += '-';
        for (unsigned char c : v) {
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '-')
                g += static_cast<char>(c);
            else
                g += '%' + rowcast::detail::hex_byte(c);
        }
    };
    for (std::size_t i = 0; i < tmpl.size();) {
        if (tmpl.substr(i, 8) == "<schema>") {
            put(schema);
            i += 8;
        } else if (tmpl.substr(i, 7) == "<table>") {
            put(table);
            i += 7;
        } else {
            g += tmpl[i++];
        }
    }
    if (g.size() <= 31) return g;
    const std::uint32_t crc = rowcast::detail::crc32(g.data(), g.size());
    g.resize(22);
    g += '~';
    for (int i = 24; i >= 0; i -= 8) g += rowcast::detail::hex_byte((crc >> i) & 0xff);
    return g;
}

inline constexpr std::string_view envelope_magic = "RCS1";
inline constexpr std::size_t envelope_size = 24;

struct envelope {
    std::uint64_t seq = 0;
    std::uint32_t index = 0, count = 1, total = 0;
    std::string_view chunk;  // the payload bytes of this fragment
};

inline void put_envelope(std::string& out, std::uint64_t seq, std::uint32_t index, std::uint32_t count, std::uint32_t total) {
    out.append(envelope_magic);
    for (int i = 0; i < 8; ++i) out += static_cast<char>((seq >> (8 * i)) & 0xff);
    for (std::uint32_t v : {index, count, total})
        for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

/// Parses the envelope at the start of a message body. Errors: bad_magic, truncated,
/// invalid_value (index >= count, a fragment larger than the total, a single fragment
/// whose size is not the total).
inline result<envelope> parse_envelope(std::string_view body) {
    if (body.size() < envelope_size)
        return error::make(errc::truncated, "spread", "envelope", std::to_string(body.size()) + " bytes (24 expected)");
    if (body.substr(0, 4) != envelope_magic)
        return error::make(errc::bad_magic, "spread", "envelope", "not a rowcast message (no \"RCS1\")");
    const auto le = [&](std::size_t at, int n) {
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(body[at + static_cast<std::size_t>(i)]);
        return v;
    };
    envelope e;
    e.seq = le(4, 8);
    e.index = static_cast<std::uint32_t>(le(12, 4));
    e.count = static_cast<std::uint32_t>(le(16, 4));
    e.total = static_cast<std::uint32_t>(le(20, 4));
    e.chunk = body.substr(envelope_size);
    if (e.count == 0 || e.index >= e.count)
        return error::make(errc::invalid_value, "spread", "envelope",
                           "fragment " + std::to_string(e.index) + " of " + std::to_string(e.count));
    if (e.chunk.size() > e.total || (e.count == 1 && e.chunk.size() != e.total))
        return error::make(errc::invalid_value, "spread", "envelope",
                           "fragment of " + std::to_string(e.chunk.size()) + " bytes for a total of " + std::to_string(e.total));
    return e;
}

/// Puts fragments back together, per sender, in order. Memory: at most `max_partial`
/// senders with a sequence in progress, each at most `max_event_bytes` (the announced
/// total is checked before anything is kept).
class reassembler {
public:
    reassembler(std::size_t max_event_bytes, std::size_t max_partial) : max_bytes_(max_event_bytes), max_partial_(max_partial) {}

    struct outcome {
        std::optional<error> broken;  // a sequence that cannot complete (its fragments are dropped, reported here)
        bool complete = false;        // `whole` is an event's payload
        std::string_view whole;       // valid until the next add()
    };

    /// One fragment from `sender` sent to `group`. A sequence must arrive whole and in
    /// order from one sender: a fragment out of order, a new sequence before the last
    /// one ended, or a fragment without its start breaks it (outcome::broken; a new
    /// sequence's first fragment is still taken).
    outcome add(std::string_view sender, std::string_view group, const envelope& e) {
        outcome o;
        auto it = partial_.find(sender);
        if (it != partial_.end()) {
            partial& p = it->second;
            if (e.seq == p.seq && e.index == p.next && e.count == p.count && e.total == p.total && group == p.group) {
                if (p.data.size() + e.chunk.size() > p.total) {
                    o.broken = fail(sender, p, "fragments longer than the announced total");
                    drop(it);
                    return o;
                }
                p.data.append(e.chunk);
                if (++p.next < p.count) return o;
                if (p.data.size() != p.total) {
                    o.broken = fail(sender, p, "fragments shorter than the announced total");
                    partial_.erase(it);  // the last one: nothing of it left to skip
                    return o;
                }
                last_.swap(p.data);
                partial_.erase(it);
                o.complete = true;
                o.whole = last_;
                return o;
            }
            o.broken = fail(sender, p, "interrupted by fragment " + std::to_string(e.index) + "/" + std::to_string(e.count) +
                                           " of sequence " + std::to_string(e.seq) + " in group " + std::string(group));
            drop(it);
        }
        if (e.index != 0) {
            // The rest of a sequence already reported as dropped is not reported again.
            if (auto s = skipped_.find(sender); s != skipped_.end() && s->second == e.seq) return o;
            if (!o.broken)
                o.broken = error::make(errc::truncated, "spread", "sender " + std::string(sender) + " group " + std::string(group),
                                       "fragment " + std::to_string(e.index) + "/" + std::to_string(e.count) + " of sequence " +
                                           std::to_string(e.seq) + " without the fragments before it (dropped)");
            return o;
        }
        skipped_.erase(std::string(sender));
        if (e.count == 1) {
            o.complete = true;
            o.whole = e.chunk;
            return o;
        }
        if (e.total > max_bytes_) {
            if (!o.broken)
                o.broken = error::make(errc::limit_exceeded, "spread", "sender " + std::string(sender) + " group " + std::string(group),
                                       "event of " + std::to_string(e.total) + " bytes in " + std::to_string(e.count) +
                                           " fragments exceeds max_event_bytes " + std::to_string(max_bytes_) + " (dropped)");
            skip(sender, e.seq);
            return o;
        }
        if (partial_.size() >= max_partial_) {
            if (!o.broken)
                o.broken = error::make(errc::limit_exceeded, "spread", "sender " + std::string(sender) + " group " + std::string(group),
                                       "more than " + std::to_string(max_partial_) + " senders with fragmented events in progress (dropped)");
            skip(sender, e.seq);
            return o;
        }
        partial p{std::string(group), e.seq, 1, e.count, e.total, std::string(e.chunk)};
        p.data.reserve(e.total);
        partial_.emplace(std::string(sender), std::move(p));
        return o;
    }

    std::size_t in_progress() const noexcept { return partial_.size(); }

private:
    struct partial {
        std::string group;
        std::uint64_t seq;
        std::uint32_t next, count, total;
        std::string data;
    };
    static error fail(std::string_view sender, const partial& p, const std::string& why) {
        return error::make(errc::truncated, "spread", "sender " + std::string(sender) + " group " + p.group,
                           "fragmented event (sequence " + std::to_string(p.seq) + ", " + std::to_string(p.next) + " of " +
                               std::to_string(p.count) + " fragments, " + std::to_string(p.data.size()) + " of " +
                               std::to_string(p.total) + " bytes) incomplete: " + why + " (dropped)");
    }

    using partial_map = std::map<std::string, partial, std::less<>>;
    void skip(std::string_view sender, std::uint64_t seq) {
        if (skipped_.size() >= max_partial_) skipped_.clear();  // bounded; at worst a later fragment is reported again
        skipped_[std::string(sender)] = seq;
    }
    void drop(partial_map::iterator it) {
        skip(it->first, it->second.seq);
        partial_.erase(it);
    }

    std::size_t max_bytes_, max_partial_;
    partial_map partial_;
    std::map<std::string, std::uint64_t, std::less<>> skipped_;  // sender -> a dropped sequence still arriving
    std::string last_;
};

}  // namespace detail::spread
ROWCAST_NAMESPACE_END
