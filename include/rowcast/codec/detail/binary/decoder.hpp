// Internal: the decoding half of binary_codec (codec/binary.hpp, which includes this
// after defining binary_options): bytes -> event or event_view, every count and length
// checked against the limits and the bytes left, with a cache of decoded column lists
// keyed by their encoded bytes.
#pragma once

#include <rowcast/codec/detail/binary/column_cache.hpp>
#include <rowcast/codec/detail/binary/wire.hpp>
#include <rowcast/column.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::bin {

class decoder {
public:
    decoder() = default;
    explicit decoder(const binary_options& o) : opt_(o) {}

    const binary_options& options() const noexcept { return opt_; }

    template <class S>
    result<std::size_t> decode(std::string_view in, basic_event<S>& e) { return decode_impl(in, e); }

    result<std::size_t> peek_size(std::string_view in) const {
        std::uint32_t len = 0;
        reader r{reinterpret_cast<const unsigned char*>(in.data()), reinterpret_cast<const unsigned char*>(in.data()),
                 reinterpret_cast<const unsigned char*>(in.data()) + in.size()};
        if (!read_header(r, in.size(), len, false)) return make_error(r);
        return std::size_t{len};
    }

    std::size_t cached() const noexcept { return cache_.size(); }

    void clear() noexcept { cache_.clear(); }

private:
    binary_options opt_{};
    column_cache<std::uint64_t, columns_ptr> cache_;  // keyed by hash_bytes of the block


    ROWCAST_BIN_COLD static error make_error(const reader& r) {
        return error::make(r.code, codec_name, "at byte " + std::to_string(r.at), r.what);
    }

    // Checks the header at r.p (r.end = end of input) and reads the event length.
    // With `need_all`, the whole event must be in the input.
    bool read_header(reader& r, std::size_t avail, std::uint32_t& len, bool need_all = true) const {
        using namespace detail::bin;
        const unsigned char* b = r.p;
        if ((avail >= 1 && b[0] != magic0) || (avail >= 2 && b[1] != magic1))
            return r.fail(errc::bad_magic, b,
                          "expected the magic bytes 52 43 (\"RC\"), found " + hex_byte(b[0]) +
                              (avail >= 2 ? " " + hex_byte(b[1]) : std::string()));
        if (avail >= 3 && b[2] != format_version)
            return r.fail(errc::unsupported_version, b + 2,
                          "format version " + std::to_string(b[2]) + "; this build reads version " +
                              std::to_string(format_version));
        if (avail >= 4 && (b[3] & ~known_flags) != 0)
            return r.fail(errc::unsupported_version, b + 3,
                          "header flags 0x" + hex_byte(b[3]) + " are unknown to format version " +
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
    bool read_value(reader& r, basic_value<S>& v) const {
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

    ROWCAST_BIN_COLD static bool bad_value(reader& r, const unsigned char* at, const char* what) {
        return r.fail(errc::invalid_value, at, what);
    }
    ROWCAST_BIN_COLD static bool bad_number(reader& r, const unsigned char* at, const char* what,
                                            std::uint64_t v, const char* max) {
        return r.fail(errc::invalid_value, at, std::string(what) + " " + std::to_string(v) + " exceeds " + max);
    }
    ROWCAST_BIN_COLD static bool bad_date(reader& r, const unsigned char* at, date d) {
        return r.fail(errc::invalid_value, at,
                      "date " + std::to_string(d.year) + "-" + std::to_string(d.month) + "-" + std::to_string(d.day) +
                          " is out of range");
    }
    ROWCAST_BIN_COLD static bool bad_bit(reader& r, const unsigned char* at, unsigned w, std::uint64_t u) {
        if (w < 1 || w > 64) return r.fail(errc::invalid_value, at, "bit width " + std::to_string(w) + " is not 1-64");
        return r.fail(errc::invalid_value, at + 1,
                      "bit value " + std::to_string(u) + " is wider than its " + std::to_string(w) + " bits");
    }
    ROWCAST_BIN_COLD static bool bad_count(reader& r, const unsigned char* at, const char* which,
                                           std::uint64_t n, std::size_t want) {
        return r.fail(errc::invalid_value, at,
                      std::string(which) + " image has " + std::to_string(n) + " values where " + std::to_string(want) +
                          " are expected");
    }

    // Parses a non-empty column block [r.p, r.end) into `cols`.
    bool parse_columns(reader& r, std::vector<column>& cols) const {
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
    bool lookup_columns(reader& r, std::string_view block, columns_ptr& out) {
        if (const auto* m = cache_.mru();
            m && m->bytes.size() == block.size() && std::memcmp(m->bytes.data(), block.data(), block.size()) == 0) {
            if (out != m->payload) out = m->payload;
            return true;
        }
        const auto* bp = reinterpret_cast<const unsigned char*>(block.data());
        const std::uint64_t h = hash_bytes(bp, block.size());
        std::size_t slot;
        if (auto* m = cache_.find(h, slot); m && m->bytes == block) {
            cache_.touch(slot);
            if (out != m->payload) out = m->payload;
            return true;
        }  // else a hash collision: put() replaces that entry
        reader sub{r.base, bp, bp + block.size()};
        std::vector<column> cols;
        if (!parse_columns(sub, cols)) {
            r.code = sub.code;
            r.at = sub.at;
            r.what = std::move(sub.what);
            return false;
        }
        out = make_columns(std::move(cols));
        if (opt_.schema_cache_size == 0 || block.size() > opt_.schema_cache_bytes) return true;
        cache_.put(slot, h, block, out, opt_.schema_cache_size, opt_.schema_cache_bytes);
        return true;
    }

    template <class S>
    // Out of line, as it was while the codec lived in one class: GCC otherwise inlines one of
    // the two calls into decode_impl, which costs decode_view ~2.5 % more instructions.
    [[gnu::noinline]] bool read_image(reader& r, std::vector<basic_value<S>>& img, const char* which, bool wanted,
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

    // A string field (at most max_string_length bytes) into `dst`.
    template <class S>
    bool read_str(reader& r, S& dst, const char* what) const {
        std::string_view s;
        if (!r.str(s, what, opt_.max_string_length)) return false;
        assign(dst, s);
        return true;
    }
    // A varint field that must fit 32 bits.
    static bool read_u32(reader& r, std::uint32_t& dst, const char* what) {
        const unsigned char* at = r.p;
        std::uint64_t u = 0;
        if (!r.varint(u, what)) return false;
        if (u > 0xFFFFFFFFu) [[unlikely]]
            return bad_number(r, at, what, u, "4294967295");
        dst = static_cast<std::uint32_t>(u);
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
        std::uint64_t t1 = 0, t2 = 0;
        if (!r.varint(e.sequence, "sequence") || !r.le(t1, "commit time") || !r.le(t2, "capture time"))
            return make_error(r);
        e.commit_time = time_point{std::chrono::microseconds{static_cast<std::int64_t>(t1)}};
        e.capture_time = time_point{std::chrono::microseconds{static_cast<std::int64_t>(t2)}};
        if (!read_str(r, e.schema, "schema") || !read_str(r, e.table, "table") ||
            !read_str(r, e.statement, "statement") || !read_str(r, e.transaction.id, "transaction id") ||
            !read_u32(r, e.transaction.position, "transaction position") ||
            !r.boolean(e.transaction.last, "transaction last") || !read_str(r, e.source.file, "source file") ||
            !r.varint(e.source.offset, "source offset") || !read_str(r, e.source.gtid, "source gtid") ||
            !read_u32(r, e.source.server_id, "server id"))
            return make_error(r);
        e.source.row = 0;
        e.source.thread = 0;
        if (b[3] & flag_source_ext) {
            const unsigned char* ext_at = r.p;
            if (!read_u32(r, e.source.row, "source row") || !r.varint(e.source.thread, "source thread"))
                return make_error(r);
            if (e.source.row == 0 && e.source.thread == 0) [[unlikely]] {  // the encoder sets the flag only for them
                r.fail(errc::invalid_value, ext_at, "header flag 0x01 with source row and thread both 0");
                return make_error(r);
            }
        }
        e.transaction.xid = 0;
        if (b[3] & flag_xid) {
            const unsigned char* xid_at = r.p;
            if (!r.varint(e.transaction.xid, "transaction xid")) return make_error(r);
            if (e.transaction.xid == 0) [[unlikely]] {  // the encoder sets the flag only for a known XID
                r.fail(errc::invalid_value, xid_at, "header flag 0x02 with transaction xid 0");
                return make_error(r);
            }
        }

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
        if (auto ok = validate(e, codec_name); !ok) return ok.error_value();
        return std::size_t{len};
    }
};

}  // namespace detail::bin
ROWCAST_NAMESPACE_END
