// rowcast/codec/binary.hpp: the compact binary codec ("application/x-rowcast").
//
// A versioned, little-endian, self-delimiting encoding of an Event: every
// event starts with an 8-byte header (magic "RC", format version, flags and
// the event's total length in bytes), so events can sit back to back in one
// datagram or file and `decode` returns how many bytes it consumed. Every
// field and every value kind round-trips exactly (absent vs NULL, NaN payload
// bits, -0.0, full 64-bit integers, NUL bytes, invalid UTF-8 byte for byte).
// The byte layout is specified in docs/binary-format.md.
//
// Decoding never reads outside its input and never allocates more than the
// configured limits allow: every count and length is checked against the
// configured maximum (errc::limit_exceeded) and then against the bytes left
// (errc::truncated) before it is used. Errors name the byte offset, relative
// to the start of the input passed in, e.g.
//   "[rowcast.binary.truncated] at byte 37: text length 300 exceeds the 12 bytes left".
//
// Column lists are shared: the codec caches decoded column lists (keyed by
// their encoded bytes), so the events of one table decode to one
// `columns_ptr`, and caches the encoded bytes of the column lists it encodes
// (keyed by the `columns_ptr`, whose list is immutable once shared).
//
// Thread-safety: a binary_codec is not thread-safe (its caches mutate on
// encode and decode); use one per thread. Copies are independent.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/column.hpp>
#include <rowcast/codec/detail/binary/wire.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN

/// Limits and cache sizes of a binary_codec. The limits apply to decoding (the
/// encoder writes whatever it is given, up to the format's 4 GiB - 1 event size).
struct binary_options {
    /// Largest accepted event, header included, in bytes (at most 4 GiB - 1). Default 16 MiB.
    std::size_t max_event_size = std::size_t{16} << 20;
    /// Most columns in a column list, and most values in a row image. Default 4096.
    std::size_t max_columns = 4096;
    /// Longest string or byte string (names, text, bytes, JSON, WKB…), in bytes. Default 16 MiB.
    std::size_t max_string_length = std::size_t{16} << 20;
    /// Most ENUM/SET member names in one column list, all columns together. Default 65536.
    std::size_t max_members = 65536;
    /// Column lists kept by each of the two caches (decode: by encoded bytes; encode:
    /// by columns_ptr). 0 disables caching. Default 64.
    std::size_t schema_cache_size = 64;
    /// Most encoded column-list bytes each cache holds; larger lists are not cached. Default 8 MiB.
    std::size_t schema_cache_bytes = std::size_t{8} << 20;
};

/// The binary codec. Satisfies rowcast::view_codec.
class binary_codec {
public:
    static constexpr std::string_view name = "binary";
    static constexpr std::string_view content_type = "application/x-rowcast";
    /// The format version this build writes and reads (byte 2 of every event).
    static constexpr std::uint8_t format_version = detail::bin::format_version;
    /// Size of the fixed event header, in bytes.
    static constexpr std::size_t header_size = detail::bin::header_size;

    binary_codec() = default;
    explicit binary_codec(binary_options o) : opt_(o) {}

    const binary_options& options() const noexcept { return opt_; }

    /// Appends the encoding of `e` to `out` (never clears it). Values outside the
    /// ranges documented in value.hpp (a DATE month of 13, a BIT wider than 64 …) are
    /// written so that decoding reports errc::invalid_value.
    /// Throws rowcast::exception (limit_exceeded) only for an event over 4 GiB - 1
    /// bytes, and std::bad_alloc / std::length_error as std::string does.
    void encode(const event& e, std::string& out) { encode_impl(e, out); }
    /// Same, from a view.
    void encode(const event_view& e, std::string& out) { encode_impl(e, out); }

    /// Decodes the first event in `in` into `into`, reusing its storage, and returns
    /// the bytes consumed (the event's length; more events may follow). On error
    /// `into` is left valid but unspecified. Errors: bad_magic, unsupported_version,
    /// truncated, limit_exceeded, invalid_value, trailing_data (bytes inside the
    /// event after its last field).
    result<std::size_t> decode(std::string_view in, event& into) { return decode_impl(in, into); }

    /// Zero-copy decode: like decode, but the strings of `into` point into `in`
    /// (valid only while `in` is). The image vectors keep their capacity, so decoding
    /// repeatedly into one view does not allocate once it has grown.
    result<std::size_t> decode_view(std::string_view in, event_view& into) { return decode_impl(in, into); }

    /// The total length of the first event in `in` as its header states it, after
    /// checking magic, version and max_event_size; errc::truncated if `in` is shorter
    /// than the header (not if it is shorter than the event). For stream readers.
    result<std::size_t> peek_size(std::string_view in) const {
        std::uint32_t len = 0;
        detail::bin::reader r{reinterpret_cast<const unsigned char*>(in.data()),
                              reinterpret_cast<const unsigned char*>(in.data()),
                              reinterpret_cast<const unsigned char*>(in.data()) + in.size()};
        if (!read_header(r, in.size(), len, false)) return make_error(r);
        return std::size_t{len};
    }

    /// Number of column lists in the decode cache.
    std::size_t cached_column_lists() const noexcept { return dcache_.size(); }

    /// Drops both caches (decoded events keep their column lists).
    void clear_cache() noexcept {
        dcache_.clear();
        dindex_.clear();
        dbytes_ = 0;
        dmru_ = npos;
        ecache_.clear();
        eindex_.clear();
        ebytes_ = 0;
        emru_ = npos;
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    struct decode_entry {
        std::uint64_t hash = 0;
        std::string bytes;
        columns_ptr columns;
        std::uint64_t stamp = 0;
    };
    struct encode_entry {
        const column_list* key = nullptr;
        std::weak_ptr<const column_list> owner;
        std::string bytes;
        std::uint64_t stamp = 0;
    };

    binary_options opt_{};
    std::uint64_t clock_ = 0;
    std::vector<decode_entry> dcache_;
    std::unordered_map<std::uint64_t, std::size_t> dindex_;
    std::size_t dbytes_ = 0;
    std::size_t dmru_ = npos;
    std::vector<encode_entry> ecache_;
    std::unordered_map<const column_list*, std::size_t> eindex_;
    std::size_t ebytes_ = 0;
    std::size_t emru_ = npos;
    std::string scratch_;

    // ------------------------------------------------------------------ encode

    static std::size_t columns_bound(const column_list& cols) noexcept {
        std::size_t n = detail::bin::max_varint;
        for (const auto& c : cols) {
            n += 2 * detail::bin::max_varint + c.name.size() + 1 + 5 + 3 + 3 * detail::bin::max_varint +
                 c.type.charset.size() + c.type.geometry_type.size();
            for (const auto& m : c.type.members) n += detail::bin::max_varint + m.size();
        }
        return n;
    }

    static char* put_columns(char* p, const column_list& cols) noexcept {
        using namespace detail::bin;
        p = put_varint(p, cols.size());
        for (const auto& c : cols) {
            const auto& t = c.type;
            std::uint32_t f = 0;
            if (t.is_unsigned) f |= col_unsigned;
            if (c.primary_key) f |= col_primary_key;
            if (c.nullable) f |= col_nullable;
            if (t.length) f |= col_length;
            if (!t.charset.empty()) f |= col_charset;
            if (t.fsp) f |= col_fsp;
            if (t.precision || t.scale) f |= col_decimal;
            if (!t.members.empty()) f |= col_members;
            if (!t.geometry_type.empty()) f |= col_geometry;
            p = put_str(p, c.name);
            p = put_u8(p, static_cast<std::uint8_t>(t.type));
            p = put_varint(p, f);
            if (f & col_length) p = put_varint(p, t.length);
            if (f & col_decimal) {
                p = put_u8(p, t.precision);
                p = put_u8(p, t.scale);
            }
            if (f & col_fsp) p = put_u8(p, t.fsp);
            if (f & col_charset) p = put_str(p, t.charset);
            if (f & col_members) {
                p = put_varint(p, t.members.size());
                for (const auto& m : t.members) p = put_str(p, m);
            }
            if (f & col_geometry) p = put_str(p, t.geometry_type);
        }
        return p;
    }

    static void encode_columns_into(const column_list& cols, std::string& s) {
        s.resize(columns_bound(cols));
        char* end = put_columns(s.data(), cols);
        s.resize(static_cast<std::size_t>(end - s.data()));
    }

    static bool same_owner(const std::weak_ptr<const column_list>& w, const columns_ptr& p) noexcept {
        return !w.owner_before(p) && !p.owner_before(w);
    }

    // The encoded column block of `cols` (empty for none), from the cache when possible.
    std::string_view column_block(const columns_ptr& cols) {
        if (!cols || cols->size() == 0) return {};
        const column_list* key = cols.get();
        if (emru_ != npos) {
            auto& m = ecache_[emru_];
            if (m.key == key && same_owner(m.owner, cols)) return m.bytes;
        }
        std::size_t slot = npos;
        if (auto it = eindex_.find(key); it != eindex_.end()) {
            auto& m = ecache_[it->second];
            if (same_owner(m.owner, cols)) {
                m.stamp = ++clock_;
                emru_ = it->second;
                return m.bytes;
            }
            slot = it->second;  // a dead list at the same address: reuse its slot
        }
        encode_columns_into(*cols, scratch_);
        if (opt_.schema_cache_size == 0 || scratch_.size() > opt_.schema_cache_bytes) return scratch_;
        if (slot != npos) {
            ebytes_ -= ecache_[slot].bytes.size();
        } else {
            while (!ecache_.empty() &&
                   (ecache_.size() >= opt_.schema_cache_size || ebytes_ + scratch_.size() > opt_.schema_cache_bytes))
                evict_encode();
            slot = ecache_.size();
            ecache_.emplace_back();
            eindex_[key] = slot;
        }
        auto& m = ecache_[slot];
        m.key = key;
        m.owner = cols;
        m.bytes.assign(scratch_);
        m.stamp = ++clock_;
        ebytes_ += m.bytes.size();
        emru_ = slot;
        return m.bytes;
    }

    void evict_encode() {
        std::size_t victim = 0;
        for (std::size_t i = 1; i < ecache_.size(); ++i)
            if (ecache_[i].stamp < ecache_[victim].stamp) victim = i;
        eindex_.erase(ecache_[victim].key);
        ebytes_ -= ecache_[victim].bytes.size();
        if (victim != ecache_.size() - 1) {
            ecache_[victim] = std::move(ecache_.back());
            eindex_[ecache_[victim].key] = victim;
        }
        ecache_.pop_back();
        emru_ = npos;
    }

    template <class S>
    static std::size_t image_bound(const std::vector<basic_value<S>>& img) noexcept {
        std::size_t n = detail::bin::max_varint + img.size() * (2 + 2 * detail::bin::max_varint);
        for (const auto& v : img) {
            switch (v.kind()) {
                case value_kind::decimal: n += std::get_if<basic_decimal<S>>(&v)->digits.size(); break;
                case value_kind::text: n += std::get_if<basic_text<S>>(&v)->utf8.size(); break;
                case value_kind::bytes: n += std::get_if<basic_bytes<S>>(&v)->data.size(); break;
                case value_kind::enumeration: n += std::get_if<basic_enum_value<S>>(&v)->name.size(); break;
                case value_kind::set: n += std::get_if<basic_set_value<S>>(&v)->names.size(); break;
                case value_kind::json: n += std::get_if<basic_json_text<S>>(&v)->text.size(); break;
                case value_kind::geometry: n += std::get_if<basic_geometry<S>>(&v)->wkb.size(); break;
                default: break;
            }
        }
        return n;
    }

    static std::uint64_t pack_datetime(const datetime& d) noexcept {
        if (d.day.year > 9999 || d.day.month > 12 || d.day.day > 31 || d.hour > 23 || d.minute > 59 || d.second > 59 ||
            d.microsecond > 999999)
            return detail::bin::datetime_invalid;
        return std::uint64_t{d.microsecond} | std::uint64_t{d.second} << 20 | std::uint64_t{d.minute} << 26 |
               std::uint64_t{d.hour} << 32 | std::uint64_t{d.day.day} << 37 | std::uint64_t{d.day.month} << 42 |
               std::uint64_t{d.day.year} << 46;
    }

    template <class S>
    static char* put_value(char* p, const basic_value<S>& v) noexcept {
        using namespace detail::bin;
        p = put_u8(p, static_cast<std::uint8_t>(v.index()));
        switch (v.kind()) {
            case value_kind::absent:
            case value_kind::null: break;
            case value_kind::int64: p = put_varint(p, zigzag(*std::get_if<std::int64_t>(&v))); break;
            case value_kind::uint64: p = put_varint(p, *std::get_if<std::uint64_t>(&v)); break;
            case value_kind::float32: {
                std::uint32_t b;
                std::memcpy(&b, std::get_if<float>(&v), 4);
                p = put_le(p, b);
                break;
            }
            case value_kind::float64: {
                std::uint64_t b;
                std::memcpy(&b, std::get_if<double>(&v), 8);
                p = put_le(p, b);
                break;
            }
            case value_kind::decimal: p = put_str(p, std::get_if<basic_decimal<S>>(&v)->digits); break;
            case value_kind::text: p = put_str(p, std::get_if<basic_text<S>>(&v)->utf8); break;
            case value_kind::bytes: p = put_str(p, std::get_if<basic_bytes<S>>(&v)->data); break;
            case value_kind::date: {
                const auto& d = *std::get_if<date>(&v);
                p = put_le(p, d.year);
                p = put_u8(p, d.month);
                p = put_u8(p, d.day);
                break;
            }
            case value_kind::time:
                p = put_le(p, static_cast<std::uint64_t>(std::get_if<time>(&v)->microseconds));
                break;
            case value_kind::datetime: p = put_le(p, pack_datetime(*std::get_if<datetime>(&v))); break;
            case value_kind::timestamp:
                p = put_le(p, static_cast<std::uint64_t>(std::get_if<timestamp>(&v)->microseconds));
                break;
            case value_kind::year: p = put_le(p, std::get_if<year>(&v)->value); break;
            case value_kind::bit: {
                const auto& b = *std::get_if<bit>(&v);
                p = put_u8(p, b.width);
                p = put_varint(p, b.bits);
                break;
            }
            case value_kind::enumeration: {
                const auto& x = *std::get_if<basic_enum_value<S>>(&v);
                p = put_varint(p, x.index);
                p = put_str(p, x.name);
                break;
            }
            case value_kind::set: {
                const auto& x = *std::get_if<basic_set_value<S>>(&v);
                p = put_varint(p, x.mask);
                p = put_str(p, x.names);
                break;
            }
            case value_kind::json: p = put_str(p, std::get_if<basic_json_text<S>>(&v)->text); break;
            case value_kind::geometry: {
                const auto& g = *std::get_if<basic_geometry<S>>(&v);
                p = put_le(p, g.srid);
                p = put_str(p, g.wkb);
                break;
            }
        }
        return p;
    }

    template <class S>
    void encode_impl(const basic_event<S>& e, std::string& out) {
        using namespace detail::bin;
        const std::string_view block = column_block(e.columns);
        const std::size_t bound = header_size + 1 + 3 * 8 + 12 * max_varint + e.schema.size() + e.table.size() +
                                  e.statement.size() + e.transaction.id.size() + e.source.file.size() +
                                  e.source.gtid.size() + block.size() + image_bound(e.before) + image_bound(e.after);
        const std::size_t start = out.size();
        out.resize(start + bound);
        char* const b = out.data() + start;
        char* p = b + header_size;
        p = put_u8(p, static_cast<std::uint8_t>(e.kind));
        p = put_varint(p, e.sequence);
        p = put_le(p, static_cast<std::uint64_t>(e.commit_time.time_since_epoch().count()));
        p = put_le(p, static_cast<std::uint64_t>(e.capture_time.time_since_epoch().count()));
        p = put_str(p, e.schema);
        p = put_str(p, e.table);
        p = put_str(p, e.statement);
        p = put_str(p, e.transaction.id);
        p = put_varint(p, e.transaction.position);
        p = put_u8(p, e.transaction.last ? 1 : 0);
        p = put_str(p, e.source.file);
        p = put_varint(p, e.source.offset);
        p = put_str(p, e.source.gtid);
        p = put_varint(p, e.source.server_id);
        p = put_str(p, block);
        p = put_varint(p, e.before.size());
        for (const auto& v : e.before) p = put_value(p, v);
        p = put_varint(p, e.after.size());
        for (const auto& v : e.after) p = put_value(p, v);
        const auto len = static_cast<std::size_t>(p - b);
        if (len > std::numeric_limits<std::uint32_t>::max()) {
            out.resize(start);
            throw exception(error::make(errc::limit_exceeded, name, "encode",
                                        "an event of " + std::to_string(len) +
                                            " bytes exceeds the format's limit of 4294967295"));
        }
        b[0] = static_cast<char>(magic0);
        b[1] = static_cast<char>(magic1);
        b[2] = static_cast<char>(format_version);
        b[3] = 0;
        put_le(b + 4, static_cast<std::uint32_t>(len));
        out.resize(start + len);
    }

    // ------------------------------------------------------------------ decode

    ROWCAST_BIN_COLD static error make_error(const detail::bin::reader& r) {
        return error::make(r.code, name, "at byte " + std::to_string(r.at), r.what);
    }

    static std::string hex2(unsigned c) {
        constexpr char d[] = "0123456789abcdef";
        return {d[(c >> 4) & 15], d[c & 15]};
    }

    // Checks the header at r.p (r.end = end of input) and reads the event length.
    // With `need_all`, the whole event must be in the input.
    bool read_header(detail::bin::reader& r, std::size_t avail, std::uint32_t& len, bool need_all = true) const {
        using namespace detail::bin;
        const unsigned char* b = r.p;
        if ((avail >= 1 && b[0] != magic0) || (avail >= 2 && b[1] != magic1))
            return r.fail(errc::bad_magic, b,
                          "expected the magic bytes 52 43 (\"RC\"), found " + hex2(b[0]) +
                              (avail >= 2 ? " " + hex2(b[1]) : std::string()));
        if (avail >= 3 && b[2] != format_version)
            return r.fail(errc::unsupported_version, b + 2,
                          "format version " + std::to_string(b[2]) + "; this build reads version " +
                              std::to_string(format_version));
        if (avail >= 4 && b[3] != 0)
            return r.fail(errc::unsupported_version, b + 3,
                          "header flags 0x" + hex2(b[3]) + " are unknown to format version " +
                              std::to_string(format_version));
        if (avail < header_size)
            return r.fail(errc::truncated, b + avail,
                          "the " + std::to_string(header_size) + "-byte event header is cut off after " +
                              std::to_string(avail) + " bytes");
        r.p = b + 4;
        (void)r.le(len, "event length");
        if (len < header_size + 1)
            return r.fail(errc::invalid_value, b + 4,
                          "event length " + std::to_string(len) + " is shorter than the smallest event");
        if (len > opt_.max_event_size)
            return r.fail(errc::limit_exceeded, b + 4,
                          "event length " + std::to_string(len) + " exceeds max_event_size " +
                              std::to_string(opt_.max_event_size));
        if (need_all && len > avail)
            return r.fail(errc::truncated, b + 4,
                          "event length " + std::to_string(len) + " exceeds the " + std::to_string(avail) +
                              " bytes available");
        return true;
    }

    template <class S>
    static void assign(S& dst, std::string_view s) {
        if constexpr (std::is_same_v<S, std::string>) dst.assign(s.data(), s.size());
        else dst = s;
    }

    template <class Alt, class S>
    static Alt& slot_as(basic_value<S>& v) {
        if (auto* a = std::get_if<Alt>(&v)) return *a;
        return v.template emplace<Alt>();
    }

    template <class S>
    bool read_value(detail::bin::reader& r, basic_value<S>& v) const {
        using namespace detail::bin;
        const unsigned char* at = r.p;
        std::uint8_t tag = 0;
        if (!r.u8(tag, "value kind")) return false;
        std::string_view s;
        std::uint64_t u = 0;
        const std::uint64_t maxs = opt_.max_string_length;
        switch (static_cast<value_kind>(tag)) {
            case value_kind::absent: v.template emplace<absent>(); return true;
            case value_kind::null: v.template emplace<null_value>(); return true;
            case value_kind::int64:
                if (!r.varint(u, "int64 value")) return false;
                v.template emplace<std::int64_t>(unzigzag(u));
                return true;
            case value_kind::uint64:
                if (!r.varint(u, "uint64 value")) return false;
                v.template emplace<std::uint64_t>(u);
                return true;
            case value_kind::float32: {
                std::uint32_t b = 0;
                if (!r.le(b, "float32 value")) return false;
                float f;
                std::memcpy(&f, &b, 4);
                v.template emplace<float>(f);
                return true;
            }
            case value_kind::float64: {
                if (!r.le(u, "float64 value")) return false;
                double d;
                std::memcpy(&d, &u, 8);
                v.template emplace<double>(d);
                return true;
            }
            case value_kind::decimal:
                if (!r.str(s, "decimal", maxs)) return false;
                assign(slot_as<basic_decimal<S>>(v).digits, s);
                return true;
            case value_kind::text:
                if (!r.str(s, "text", maxs)) return false;
                assign(slot_as<basic_text<S>>(v).utf8, s);
                return true;
            case value_kind::bytes:
                if (!r.str(s, "bytes", maxs)) return false;
                assign(slot_as<basic_bytes<S>>(v).data, s);
                return true;
            case value_kind::date: {
                date d;
                if (!r.le(d.year, "date") || !r.u8(d.month, "date") || !r.u8(d.day, "date")) return false;
                if (d.year > 9999 || d.month > 12 || d.day > 31) [[unlikely]]
                    return bad_date(r, at + 1, d);
                v.template emplace<date>(d);
                return true;
            }
            case value_kind::time:
                if (!r.le(u, "time value")) return false;
                v.template emplace<time>(time{static_cast<std::int64_t>(u)});
                return true;
            case value_kind::datetime: {
                if (!r.le(u, "datetime value")) return false;
                datetime d;
                d.microsecond = static_cast<std::uint32_t>(u & 0xFFFFF);
                d.second = static_cast<std::uint8_t>((u >> 20) & 63);
                d.minute = static_cast<std::uint8_t>((u >> 26) & 63);
                d.hour = static_cast<std::uint8_t>((u >> 32) & 31);
                d.day.day = static_cast<std::uint8_t>((u >> 37) & 31);
                d.day.month = static_cast<std::uint8_t>((u >> 42) & 15);
                d.day.year = static_cast<std::uint16_t>((u >> 46) & 0x3FFF);
                if ((u >> 60) != 0 || d.microsecond > 999999 || d.second > 59 || d.minute > 59 || d.hour > 23 ||
                    d.day.month > 12 || d.day.year > 9999) [[unlikely]]
                    return bad_value(r, at + 1, "datetime is out of range");
                v.template emplace<datetime>(d);
                return true;
            }
            case value_kind::timestamp:
                if (!r.le(u, "timestamp value")) return false;
                v.template emplace<timestamp>(timestamp{static_cast<std::int64_t>(u)});
                return true;
            case value_kind::year: {
                std::uint16_t y = 0;
                if (!r.le(y, "year value")) return false;
                v.template emplace<year>(year{y});
                return true;
            }
            case value_kind::bit: {
                std::uint8_t w = 0;
                if (!r.u8(w, "bit width") || !r.varint(u, "bit value")) return false;
                if (w < 1 || w > 64 || (w < 64 && (u >> w) != 0)) [[unlikely]]
                    return bad_bit(r, at + 1, w, u);
                v.template emplace<bit>(bit{u, w});
                return true;
            }
            case value_kind::enumeration: {
                if (!r.varint(u, "enum index")) return false;
                if (u > 0xFFFF) [[unlikely]]
                    return bad_number(r, at + 1, "enum index", u, "65535");
                if (!r.str(s, "enum name", maxs)) return false;
                auto& x = slot_as<basic_enum_value<S>>(v);
                x.index = static_cast<std::uint16_t>(u);
                assign(x.name, s);
                return true;
            }
            case value_kind::set: {
                if (!r.varint(u, "set mask") || !r.str(s, "set names", maxs)) return false;
                auto& x = slot_as<basic_set_value<S>>(v);
                x.mask = u;
                assign(x.names, s);
                return true;
            }
            case value_kind::json:
                if (!r.str(s, "json", maxs)) return false;
                assign(slot_as<basic_json_text<S>>(v).text, s);
                return true;
            case value_kind::geometry: {
                std::uint32_t srid = 0;
                if (!r.le(srid, "geometry srid") || !r.str(s, "geometry wkb", maxs)) return false;
                auto& g = slot_as<basic_geometry<S>>(v);
                g.srid = srid;
                assign(g.wkb, s);
                return true;
            }
        }
        return bad_number(r, at, "value kind", tag, "18");
    }

    ROWCAST_BIN_COLD static bool bad_value(detail::bin::reader& r, const unsigned char* at, const char* what) {
        return r.fail(errc::invalid_value, at, what);
    }
    ROWCAST_BIN_COLD static bool bad_number(detail::bin::reader& r, const unsigned char* at, const char* what,
                                            std::uint64_t v, const char* max) {
        return r.fail(errc::invalid_value, at, std::string(what) + " " + std::to_string(v) + " exceeds " + max);
    }
    ROWCAST_BIN_COLD static bool bad_date(detail::bin::reader& r, const unsigned char* at, date d) {
        return r.fail(errc::invalid_value, at,
                      "date " + std::to_string(d.year) + "-" + std::to_string(d.month) + "-" + std::to_string(d.day) +
                          " is out of range");
    }
    ROWCAST_BIN_COLD static bool bad_bit(detail::bin::reader& r, const unsigned char* at, unsigned w, std::uint64_t u) {
        if (w < 1 || w > 64) return r.fail(errc::invalid_value, at, "bit width " + std::to_string(w) + " is not 1-64");
        return r.fail(errc::invalid_value, at + 1,
                      "bit value " + std::to_string(u) + " is wider than its " + std::to_string(w) + " bits");
    }
    ROWCAST_BIN_COLD static bool bad_count(detail::bin::reader& r, const unsigned char* at, const char* which,
                                           std::uint64_t n, std::size_t want) {
        return r.fail(errc::invalid_value, at,
                      std::string(which) + " image has " + std::to_string(n) + " values where " + std::to_string(want) +
                          " are expected");
    }

    // Parses a non-empty column block [r.p, r.end) into `cols`.
    bool parse_columns(detail::bin::reader& r, std::vector<column>& cols) const {
        using namespace detail::bin;
        std::uint64_t n = 0;
        const unsigned char* at = r.p;
        if (!r.length(n, "column count", "", opt_.max_columns, "max_columns", 3)) return false;
        if (n == 0)
            return r.fail(errc::invalid_value, at,
                          "a column block with 0 columns (no columns are written as block length 0)");
        cols.resize(static_cast<std::size_t>(n));
        std::size_t members = 0;
        std::string_view s;
        const std::uint64_t maxs = opt_.max_string_length;
        for (auto& c : cols) {
            if (!r.str(s, "column name", maxs)) return false;
            c.name.assign(s);
            std::uint8_t ty = 0;
            at = r.p;
            if (!r.u8(ty, "column type")) return false;
            if (ty >= sql_type_count) return r.fail(errc::invalid_value, at, "unknown column type " + std::to_string(ty));
            c.type.type = static_cast<sql_type>(ty);
            std::uint64_t f = 0;
            at = r.p;
            if (!r.varint(f, "column flags")) return false;
            if (f & ~std::uint64_t{col_all})
                return r.fail(errc::invalid_value, at, "unknown column flags " + std::to_string(f));
            c.type.is_unsigned = f & col_unsigned;
            c.primary_key = f & col_primary_key;
            c.nullable = f & col_nullable;
            auto zero = [&](const unsigned char* where, const char* field) {
                return r.fail(errc::invalid_value, where, std::string(field) + " is flagged present but empty");
            };
            if (f & col_length) {
                std::uint64_t len = 0;
                at = r.p;
                if (!r.varint(len, "column length")) return false;
                if (len == 0) return zero(at, "column length");
                if (len > 0xFFFFFFFFu)
                    return r.fail(errc::invalid_value, at, "column length " + std::to_string(len) + " exceeds 32 bits");
                c.type.length = static_cast<std::uint32_t>(len);
            }
            if (f & col_decimal) {
                at = r.p;
                if (!r.u8(c.type.precision, "column precision") || !r.u8(c.type.scale, "column scale")) return false;
                if (!c.type.precision && !c.type.scale) return zero(at, "column precision and scale");
            }
            if (f & col_fsp) {
                at = r.p;
                if (!r.u8(c.type.fsp, "column fsp")) return false;
                if (!c.type.fsp) return zero(at, "column fsp");
            }
            if (f & col_charset) {
                at = r.p;
                if (!r.str(s, "column charset", maxs)) return false;
                if (s.empty()) return zero(at, "column charset");
                c.type.charset.assign(s);
            }
            if (f & col_members) {
                std::uint64_t m = 0;
                at = r.p;
                if (!r.length(m, "member count", "", opt_.max_members, "max_members")) return false;
                if (m == 0) return zero(at, "member list");
                if (m > opt_.max_members - members)
                    return r.fail(errc::limit_exceeded, at,
                                  "member count " + std::to_string(members + m) + " in the column list exceeds max_members " +
                                      std::to_string(opt_.max_members));
                members += static_cast<std::size_t>(m);
                c.type.members.resize(static_cast<std::size_t>(m));
                for (auto& name_ : c.type.members) {
                    if (!r.str(s, "member name", maxs)) return false;
                    name_.assign(s);
                }
            }
            if (f & col_geometry) {
                at = r.p;
                if (!r.str(s, "column geometry type", maxs)) return false;
                if (s.empty()) return zero(at, "column geometry type");
                c.type.geometry_type.assign(s);
            }
        }
        if (r.p != r.end)
            return r.fail(errc::invalid_value, r.p,
                          std::to_string(r.left()) + " bytes after the last column in the column block");
        return true;
    }

    // The shared column list of an encoded block, from the cache or parsed (and cached).
    bool lookup_columns(detail::bin::reader& r, std::string_view block, columns_ptr& out) {
        if (dmru_ != npos) {
            const auto& m = dcache_[dmru_];
            if (m.bytes.size() == block.size() && std::memcmp(m.bytes.data(), block.data(), block.size()) == 0) {
                if (out != m.columns) out = m.columns;
                return true;
            }
        }
        const auto* bp = reinterpret_cast<const unsigned char*>(block.data());
        const std::uint64_t h = detail::bin::hash_bytes(bp, block.size());
        std::size_t slot = npos;
        if (auto it = dindex_.find(h); it != dindex_.end()) {
            auto& m = dcache_[it->second];
            if (m.bytes == block) {
                m.stamp = ++clock_;
                dmru_ = it->second;
                if (out != m.columns) out = m.columns;
                return true;
            }
            slot = it->second;  // hash collision: replace that entry
        }
        detail::bin::reader sub{r.base, bp, bp + block.size()};
        std::vector<column> cols;
        if (!parse_columns(sub, cols)) {
            r.code = sub.code;
            r.at = sub.at;
            r.what = std::move(sub.what);
            return false;
        }
        out = make_columns(std::move(cols));
        if (opt_.schema_cache_size == 0 || block.size() > opt_.schema_cache_bytes) return true;
        if (slot != npos) {
            dbytes_ -= dcache_[slot].bytes.size();
        } else {
            while (!dcache_.empty() &&
                   (dcache_.size() >= opt_.schema_cache_size || dbytes_ + block.size() > opt_.schema_cache_bytes))
                evict_decode();
            slot = dcache_.size();
            dcache_.emplace_back();
            dindex_[h] = slot;
        }
        auto& m = dcache_[slot];
        m.hash = h;
        m.bytes.assign(block);
        m.columns = out;
        m.stamp = ++clock_;
        dbytes_ += block.size();
        dmru_ = slot;
        return true;
    }

    void evict_decode() {
        std::size_t victim = 0;
        for (std::size_t i = 1; i < dcache_.size(); ++i)
            if (dcache_[i].stamp < dcache_[victim].stamp) victim = i;
        dindex_.erase(dcache_[victim].hash);
        dbytes_ -= dcache_[victim].bytes.size();
        if (victim != dcache_.size() - 1) {
            dcache_[victim] = std::move(dcache_.back());
            dindex_[dcache_[victim].hash] = victim;
        }
        dcache_.pop_back();
        dmru_ = npos;
    }

    template <class S>
    bool read_image(detail::bin::reader& r, std::vector<basic_value<S>>& img, const char* which, bool wanted,
                    std::size_t ncols) const {
        std::uint64_t n = 0;
        const unsigned char* at = r.p;
        if (!r.length(n, which, " image size", opt_.max_columns, "max_columns")) return false;
        if (n != (wanted ? ncols : 0)) [[unlikely]]
            return bad_count(r, at, which, n, wanted ? ncols : 0);
        img.resize(static_cast<std::size_t>(n));
        for (auto& v : img)
            if (!read_value(r, v)) return false;
        return true;
    }

    template <class S>
    result<std::size_t> decode_impl(std::string_view in, basic_event<S>& e) {
        using namespace detail::bin;
        const auto* b = reinterpret_cast<const unsigned char*>(in.data());
        reader r{b, b, b + in.size()};
        std::uint32_t len = 0;
        if (!read_header(r, in.size(), len)) return make_error(r);
        r.p = b + header_size;
        r.end = b + len;

        const unsigned char* at = r.p;
        std::uint8_t kind = 0;
        if (!r.u8(kind, "event kind")) return make_error(r);
        if (kind >= event_kind_count) [[unlikely]] {
            bad_number(r, at, "event kind", kind, "6");
            return make_error(r);
        }
        e.kind = static_cast<event_kind>(kind);
        std::uint64_t u = 0, t1 = 0, t2 = 0;
        std::string_view s;
        const std::uint64_t maxs = opt_.max_string_length;
        if (!r.varint(e.sequence, "sequence") || !r.le(t1, "commit time") || !r.le(t2, "capture time"))
            return make_error(r);
        e.commit_time = time_point{std::chrono::microseconds{static_cast<std::int64_t>(t1)}};
        e.capture_time = time_point{std::chrono::microseconds{static_cast<std::int64_t>(t2)}};
        if (!r.str(s, "schema", maxs)) return make_error(r);
        assign(e.schema, s);
        if (!r.str(s, "table", maxs)) return make_error(r);
        assign(e.table, s);
        if (!r.str(s, "statement", maxs)) return make_error(r);
        assign(e.statement, s);
        if (!r.str(s, "transaction id", maxs)) return make_error(r);
        assign(e.transaction.id, s);
        at = r.p;
        if (!r.varint(u, "transaction position")) return make_error(r);
        if (u > 0xFFFFFFFFu) [[unlikely]] {
            bad_number(r, at, "transaction position", u, "4294967295");
            return make_error(r);
        }
        e.transaction.position = static_cast<std::uint32_t>(u);
        if (!r.boolean(e.transaction.last, "transaction last")) return make_error(r);
        if (!r.str(s, "source file", maxs)) return make_error(r);
        assign(e.source.file, s);
        if (!r.varint(e.source.offset, "source offset")) return make_error(r);
        if (!r.str(s, "source gtid", maxs)) return make_error(r);
        assign(e.source.gtid, s);
        at = r.p;
        if (!r.varint(u, "server id")) return make_error(r);
        if (u > 0xFFFFFFFFu) [[unlikely]] {
            bad_number(r, at, "server id", u, "4294967295");
            return make_error(r);
        }
        e.source.server_id = static_cast<std::uint32_t>(u);

        std::uint64_t block_len = 0;
        if (!r.length(block_len, "column block length", "", opt_.max_event_size, "max_event_size")) return make_error(r);
        if (block_len == 0) {
            e.columns.reset();
        } else {
            const std::string_view block(reinterpret_cast<const char*>(r.p), static_cast<std::size_t>(block_len));
            if (!lookup_columns(r, block, e.columns)) return make_error(r);
            r.p += block_len;
        }
        const std::size_t n = e.column_count();
        const bool before = e.kind == event_kind::update || e.kind == event_kind::delete_;
        const bool after = e.kind == event_kind::update || e.kind == event_kind::insert;
        if (!read_image(r, e.before, "before", before, n) || !read_image(r, e.after, "after", after, n))
            return make_error(r);
        if (r.p != r.end) [[unlikely]] {
            r.fail(errc::trailing_data, r.p,
                   std::to_string(r.left()) + " bytes after the last field inside the event of " +
                       std::to_string(len) + " bytes");
            return make_error(r);
        }
        if (auto ok = validate(e, name); !ok) return ok.error_value();
        return std::size_t{len};
    }
};

static_assert(view_codec<binary_codec>);

ROWCAST_NAMESPACE_END
