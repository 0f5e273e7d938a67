// Internal: the encoding half of binary_codec (codec/binary.hpp, which includes this
// after defining binary_options): event -> bytes, built in a buffer the encoder keeps (grown,
// never zero-filled per event) and appended to the caller's string, with
// a cache of encoded column lists keyed by columns_ptr.
#pragma once

#include <rowcast/codec/detail/binary/column_cache.hpp>
#include <rowcast/codec/detail/binary/wire.hpp>
#include <rowcast/column.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::bin {

class encoder {
public:
    encoder() = default;
    explicit encoder(const binary_options& o) : opt_(o) {}

    template <class S>
    void encode(const basic_event<S>& e, std::string& out) { encode_impl(e, out); }

    void clear() noexcept { cache_.clear(); }

private:
    binary_options opt_{};
    column_cache<const column_list*, std::weak_ptr<const column_list>> cache_;
    std::string scratch_;
    std::string buf_;  // where an event is built (only grown: no zero-fill per event), then appended


    static std::size_t columns_bound(const column_list& cols) noexcept {
        std::size_t n = max_varint;
        for (const auto& c : cols) {
            n += 2 * max_varint + c.name.size() + 1 + 5 + 3 + 3 * max_varint +
                 c.type.charset.size() + c.type.geometry_type.size();
            for (const auto& m : c.type.members) n += max_varint + m.size();
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
        if (auto* m = cache_.mru(); m && m->key == key && same_owner(m->payload, cols)) return m->bytes;
        std::size_t slot;
        if (auto* m = cache_.find(key, slot)) {
            if (same_owner(m->payload, cols)) {
                cache_.touch(slot);
                return m->bytes;
            }
            // a dead list at the same address: put() reuses its slot
        }
        encode_columns_into(*cols, scratch_);
        if (opt_.schema_cache_size == 0 || scratch_.size() > opt_.schema_cache_bytes) return scratch_;
        return cache_.put(slot, key, scratch_, cols, opt_.schema_cache_size, opt_.schema_cache_bytes).bytes;
    }

    template <class S>
    static std::size_t image_bound(const std::vector<basic_value<S>>& img) noexcept {
        std::size_t n = max_varint + img.size() * (2 + 2 * max_varint);
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
            return datetime_invalid;
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
        const std::size_t bound = header_size + 1 + 3 * 8 + 17 * max_varint + e.schema.size() + e.table.size() +
                                  e.statement.size() + e.transaction.id.size() + e.source.file.size() +
                                  e.source.gtid.size() + block.size() + image_bound(e.before) + image_bound(e.after);
        if (buf_.size() < bound) buf_.resize(std::max(bound, 2 * buf_.size()));
        char* const b = buf_.data();
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
        const bool source_ext = e.source.row || e.source.thread;
        if (source_ext) {
            p = put_varint(p, e.source.row);
            p = put_varint(p, e.source.thread);
        }
        if (e.transaction.xid) p = put_varint(p, e.transaction.xid);
        p = put_str(p, block);
        p = put_varint(p, e.before.size());
        for (const auto& v : e.before) p = put_value(p, v);
        p = put_varint(p, e.after.size());
        for (const auto& v : e.after) p = put_value(p, v);
        const auto len = static_cast<std::size_t>(p - b);
        if (len > std::numeric_limits<std::uint32_t>::max()) {
            buf_ = std::string();
            throw exception(error::make(errc::limit_exceeded, codec_name, "encode",
                                        "an event of " + std::to_string(len) +
                                            " bytes exceeds the format's limit of 4294967295"));
        }
        b[0] = static_cast<char>(magic0);
        b[1] = static_cast<char>(magic1);
        b[2] = static_cast<char>(format_version);
        b[3] = static_cast<char>((source_ext ? flag_source_ext : 0) | (e.transaction.xid ? flag_xid : 0));
        put_le(b + 4, static_cast<std::uint32_t>(len));
        out.append(b, len);
        if (buf_.size() > (std::size_t{1} << 20)) buf_ = std::string();  // not kept after a huge event
    }
};

}  // namespace detail::bin
ROWCAST_NAMESPACE_END
