// Internal: TABLE_MAP decoding for binlog::parser, step by step: the fixed part, the
// per-column type metadata, the optional metadata fields (binlog_row_metadata), the
// column list built from them, and the merge with a schema provider. Each step returns
// a map_fault (the parser adds file and offset) or nothing.
#pragma once

#include <rowcast/binlog/detail/values.hpp>
#include <rowcast/binlog/detail/wire.hpp>
#include <rowcast/binlog/schema_provider.hpp>
#include <rowcast/binlog/types.hpp>
#include <rowcast/column.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::binlog {
using namespace ::rowcast::binlog;  // the public binlog types, unqualified

/// Why a TABLE_MAP cannot be used (the parser turns it into an error naming file and offset).
struct map_fault {
    errc code;
    std::string what;
};
using map_status = std::optional<map_fault>;  ///< nullopt: fine

inline sql_type blob_type(std::uint32_t lenbytes, bool binary) {
    switch (lenbytes) {
        case 1: return binary ? sql_type::tinyblob : sql_type::tinytext;
        case 2: return binary ? sql_type::blob : sql_type::text;
        case 3: return binary ? sql_type::mediumblob : sql_type::mediumtext;
        default: return binary ? sql_type::longblob : sql_type::longtext;
    }
}

inline bool is_numeric_wire(std::uint8_t t) {
    return t == t_tiny || t == t_short || t == t_int24 || t == t_long || t == t_longlong || t == t_float ||
           t == t_double || t == t_newdecimal || t == t_decimal;
}
inline bool is_character_wire(std::uint8_t t) { return t == t_string || t == t_varchar || t == t_var_string || t == t_blob; }
/// Whether the charset metadata (fields 2 and 3) has an entry for a column of this wire type.
/// MySQL counts the character wire types only; MariaDB (10.5+, every version that writes the
/// field; its log_event_server.cc and the mariadb-binlog reader alike) also counts GEOMETRY,
/// whose "base class is blob", logging it with the binary collation 63.
inline bool in_charset_metadata(std::uint8_t t, const server_flavour& f) {
    return is_character_wire(t) || (t == t_geometry && f.mariadb);
}
/// The pre-5.6 temporal wire types, logged without metadata.
inline bool is_old_temporal_wire(std::uint8_t t) { return t == t_time || t == t_datetime || t == t_timestamp; }
inline bool is_enum_set_wire(std::uint8_t t) { return t == t_enum || t == t_set; }

/// Whether a provider's declared type can be logged as this wire column.
inline bool compatible(const wire_column& w, const column_type& p) {
    switch (w.type) {
        case t_tiny: return p.type == sql_type::tinyint;
        case t_short: return p.type == sql_type::smallint;
        case t_int24: return p.type == sql_type::mediumint;
        case t_long: return p.type == sql_type::int_;
        case t_longlong: return p.type == sql_type::bigint;
        case t_float: return p.type == sql_type::float_;
        case t_double: return p.type == sql_type::double_;
        case t_newdecimal: return p.type == sql_type::decimal;
        case t_year: return p.type == sql_type::year;
        case t_date: case t_newdate: return p.type == sql_type::date;
        case t_time: case t_time2: return p.type == sql_type::time;
        case t_datetime: case t_datetime2: return p.type == sql_type::datetime;
        case t_timestamp: case t_timestamp2: return p.type == sql_type::timestamp;
        case t_bit: return p.type == sql_type::bit;
        case t_enum: return p.type == sql_type::enum_;
        case t_set: return p.type == sql_type::set;
        case t_varchar: case t_var_string: return p.type == sql_type::varchar || p.type == sql_type::varbinary;
        case t_string:
            return p.type == sql_type::char_ || p.type == sql_type::binary || p.type == sql_type::uuid ||
                   p.type == sql_type::inet6 || p.type == sql_type::inet4;
        case t_blob:
            return p.type == sql_type::tinyblob || p.type == sql_type::blob || p.type == sql_type::mediumblob ||
                   p.type == sql_type::longblob || p.type == sql_type::tinytext || p.type == sql_type::text ||
                   p.type == sql_type::mediumtext || p.type == sql_type::longtext || p.type == sql_type::json;
        case t_json: return p.type == sql_type::json;
        case t_geometry: return p.type == sql_type::geometry;
        default: return false;
    }
}

// ---------------------------------------------------------------------------
// The fixed part and the per-column metadata

/// The part of a TABLE_MAP after table id and flags, up to the optional metadata.
struct table_map_fixed {
    std::string_view schema, table;
    std::size_t columns = 0;
    std::string_view types;     ///< one wire type byte per column
    std::string_view meta;      ///< the type metadata block
    std::string_view nullbits;  ///< one bit per column
};

inline map_status read_table_map_fixed(cursor& c, table_map_fixed& out) {
    std::uint8_t len = 0;
    if (!c.u8(len) || !c.bytes(len, out.schema) || !c.skip(1)) return map_fault{errc::truncated, "TABLE_MAP schema name truncated"};
    if (!c.u8(len) || !c.bytes(len, out.table) || !c.skip(1)) return map_fault{errc::truncated, "TABLE_MAP table name truncated"};
    std::uint64_t n = 0;
    if (!c.packed(n) || n > c.left() || n > 4096) return map_fault{errc::invalid_value, "TABLE_MAP column count impossible"};
    out.columns = static_cast<std::size_t>(n);
    c.bytes(out.columns, out.types);
    std::uint64_t meta_len = 0;
    if (!c.packed(meta_len) || !c.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(meta_len, c.left() + 1)), out.meta))
        return map_fault{errc::truncated, "TABLE_MAP metadata block truncated"};
    if (!c.bytes((out.columns + 7) / 8, out.nullbits)) return map_fault{errc::truncated, "TABLE_MAP null bitmap truncated"};
    return {};
}

/// Reads one column's type metadata from `m` into `w` (whose type is the logged one).
inline map_status read_column_meta(cursor& m, wire_column& w) {
    auto truncated = [] { return map_fault{errc::truncated, "TABLE_MAP column metadata truncated"}; };
    std::uint64_t v = 0;
    switch (w.type) {
        case t_float: case t_double: case t_blob: case t_geometry: case t_json:
        case t_timestamp2: case t_datetime2: case t_time2:
        case t_tiny_blob: case t_medium_blob: case t_long_blob: {
            if (!m.le(1, v)) return truncated();
            w.meta = static_cast<std::uint16_t>(v);
            const bool sized = w.type == t_json || w.type == t_geometry || w.type == t_blob || w.type == t_tiny_blob ||
                               w.type == t_medium_blob || w.type == t_long_blob;
            w.length = sized ? static_cast<std::uint32_t>(v) : 0;
            if (w.type == t_tiny_blob || w.type == t_medium_blob || w.type == t_long_blob) w.type = t_blob;
            return {};
        }
        case t_varchar: case t_var_string:
            if (!m.le(2, v)) return truncated();
            w.meta = static_cast<std::uint16_t>(v);
            w.length = static_cast<std::uint32_t>(v);
            return {};
        case t_bit:
            if (!m.le(2, v)) return truncated();
            w.meta = static_cast<std::uint16_t>(v);
            w.length = (w.meta >> 8) * 8u + (w.meta & 0xff);
            return {};
        case t_newdecimal: {
            std::uint8_t p = 0, sc = 0;
            if (!m.u8(p) || !m.u8(sc)) return truncated();
            w.meta = static_cast<std::uint16_t>(p << 8 | sc);
            return {};
        }
        case t_string: case t_enum: case t_set: {
            std::uint8_t b0 = 0, b1 = 0;
            const bool ok = m.u8(b0) && m.u8(b1);
            w.meta = static_cast<std::uint16_t>(b0 << 8 | b1);
            std::uint8_t real = b0;
            std::uint32_t length = b1;
            if ((real & 0x30) != 0x30) {
                length = b1 | (static_cast<std::uint32_t>((real & 0x30) ^ 0x30) << 4);
                real = static_cast<std::uint8_t>(real | 0x30);
            }
            if (real == t_enum || real == t_set) w.type = real;
            else if (real != t_string && w.type == t_string)  // reported before a truncation, as it always was
                return map_fault{errc::unsupported, "STRING column with real type " + std::to_string(real)};
            w.length = length;
            if (!ok) return truncated();
            return {};
        }
        default: return {};  // no metadata
    }
}

/// Fills `wire` (type, nullability, metadata) from the fixed part. Old TIME/DATETIME/TIMESTAMP
/// columns get precision 0 from MySQL (which never logs fractions under them) and
/// `unknown_precision` otherwise (MariaDB's 5.3 format, or no FORMAT_DESCRIPTION seen).
inline map_status read_wire_columns(const table_map_fixed& f, const server_flavour& flavour,
                                    std::vector<wire_column>& wire) {
    wire.resize(f.columns);
    cursor m(f.meta);
    for (std::size_t i = 0; i < f.columns; ++i) {
        auto& w = wire[i];
        w.type = static_cast<std::uint8_t>(f.types[i]);
        w.nullable = (static_cast<unsigned char>(f.nullbits[i / 8]) >> (i % 8)) & 1;
        if (auto e = read_column_meta(m, w)) return e;
        if (is_old_temporal_wire(w.type)) w.meta = flavour.known && !flavour.mariadb ? 0 : unknown_precision;
    }
    if (m.left() != 0)
        return map_fault{errc::invalid_value, "TABLE_MAP metadata block has " + std::to_string(m.left()) +
                                                  " unexplained bytes (unsupported column format)"};
    return {};
}

// ---------------------------------------------------------------------------
// Optional metadata (binlog_row_metadata)

/// What the optional metadata fields said.
struct table_map_extra {
    std::vector<std::vector<std::string>> enum_vals, set_vals;  // member names per ENUM / SET column
    std::vector<std::uint32_t> geo;                             // geometry type per GEOMETRY column
    std::vector<std::uint64_t> pk;                              // primary key column indexes
    bool have_signed = false, have_names = false, have_pk = false;
    std::vector<bool> uns, visible;
    std::vector<std::string> names;
    std::vector<std::uint32_t> char_coll, es_coll;  // per character / enum-set column, in order
};

// One bit per selected column, most significant bit first.
template <class Select>
bool read_msb_bits(std::string_view val, std::size_t n, std::vector<bool>& out, Select&& selected) {
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!selected(i)) continue;
        if (k / 8 >= val.size()) return false;
        out[i] = (static_cast<unsigned char>(val[k / 8]) >> (7 - k % 8)) & 1;
        ++k;
    }
    return true;
}
// A default collation, then (index, collation) pairs for the exceptions.
inline bool read_default_charset(cursor& v, std::size_t count, std::vector<std::uint32_t>& out) {
    std::uint64_t dflt = 0;
    if (!v.packed(dflt)) return false;
    out.assign(count, static_cast<std::uint32_t>(dflt));
    while (v.left()) {
        std::uint64_t idx = 0, coll = 0;
        if (!v.packed(idx) || !v.packed(coll) || idx >= count) return false;
        out[static_cast<std::size_t>(idx)] = static_cast<std::uint32_t>(coll);
    }
    return true;
}
// One collation per column.
inline bool read_column_charset(cursor& v, std::size_t count, std::vector<std::uint32_t>& out) {
    out.clear();
    while (v.left()) {
        std::uint64_t coll = 0;
        if (!v.packed(coll)) return false;
        out.push_back(static_cast<std::uint32_t>(coll));
    }
    return out.size() == count;
}
// Packed integers to the end, each checked by `fits`.
template <class T, class Fits>
bool read_packed_list(cursor& v, std::vector<T>& out, Fits&& fits) {
    while (v.left()) {
        std::uint64_t x = 0;
        if (!v.packed(x) || !fits(x)) return false;
        out.push_back(static_cast<T>(x));
    }
    return true;
}
inline bool read_length_string(cursor& v, std::string_view& s) {
    std::uint64_t l = 0;
    return v.packed(l) && v.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(l, v.left() + 1)), s);
}
// Per column: a count, then that many length-prefixed strings.
inline bool read_string_lists(cursor& v, std::vector<std::vector<std::string>>& out) {
    while (v.left()) {
        std::uint64_t cnt = 0;
        if (!v.packed(cnt) || cnt > v.left()) return false;
        std::vector<std::string> vals;
        for (std::uint64_t k = 0; k < cnt; ++k) {
            std::string_view sv;
            if (!read_length_string(v, sv)) return false;
            vals.emplace_back(sv);
        }
        out.push_back(std::move(vals));
    }
    return true;
}

/// Decodes one optional metadata field of type `ty` with value `val` into `x`.
inline bool read_extra_field(std::uint8_t ty, std::string_view val, const std::vector<wire_column>& wire,
                             std::size_t n_char, std::size_t n_es, table_map_extra& x) {
    const std::size_t n = wire.size();
    cursor v(val);
    auto column_index = [n](std::uint64_t i) { return i < n; };
    switch (ty) {
        case 1:  // SIGNEDNESS: one bit per numeric column
            x.have_signed = true;
            return read_msb_bits(val, n, x.uns, [&](std::size_t i) { return is_numeric_wire(wire[i].type); });
        case 2: return read_default_charset(v, n_char, x.char_coll);
        case 3: return read_column_charset(v, n_char, x.char_coll);
        case 4:  // COLUMN_NAME
            x.have_names = true;
            while (v.left()) {
                std::string_view nm;
                if (!read_length_string(v, nm)) return false;
                x.names.emplace_back(nm);
            }
            return x.names.size() == n;
        case 5: return read_string_lists(v, x.set_vals);
        case 6: return read_string_lists(v, x.enum_vals);
        case 7: return read_packed_list(v, x.geo, [](std::uint64_t) { return true; });
        case 8:  // SIMPLE_PRIMARY_KEY
            x.have_pk = true;
            return read_packed_list(v, x.pk, column_index);
        case 9:  // PRIMARY_KEY_WITH_PREFIX: (index, prefix length) pairs
            x.have_pk = true;
            while (v.left()) {
                std::uint64_t i = 0, prefix = 0;
                if (!v.packed(i) || !v.packed(prefix) || i >= n) return false;
                x.pk.push_back(i);
            }
            return true;
        case 10: return read_default_charset(v, n_es, x.es_coll);
        case 11: return read_column_charset(v, n_es, x.es_coll);
        case 12: return read_msb_bits(val, n, x.visible, [](std::size_t) { return true; });
        default: return true;  // newer kinds: ignored
    }
}

/// Reads the optional metadata fields (type, length, value) to the end of `c`. Which columns
/// the charset fields describe depends on the server (in_charset_metadata): without a
/// FORMAT_DESCRIPTION, charsets of a table with GEOMETRY columns are refused, not guessed.
inline map_status read_table_map_extra(cursor& c, const std::vector<wire_column>& wire, const server_flavour& flavour,
                                       table_map_extra& x) {
    x.uns.assign(wire.size(), false);
    x.visible.assign(wire.size(), true);
    std::size_t n_char = 0, n_es = 0;
    bool geometry = false;
    for (const auto& w : wire) {
        if (in_charset_metadata(w.type, flavour)) ++n_char;
        if (is_enum_set_wire(w.type)) ++n_es;
        geometry |= w.type == t_geometry;
    }
    while (c.left()) {
        std::uint8_t ty = 0;
        std::string_view val;
        if (!c.u8(ty) || !read_length_string(c, val)) return map_fault{errc::truncated, "TABLE_MAP optional metadata truncated"};
        if ((ty == 2 || ty == 3) && geometry && !flavour.known)
            return map_fault{errc::unsupported, "TABLE_MAP with GEOMETRY and charset metadata before any FORMAT_DESCRIPTION: "
                                                "MariaDB and MySQL list GEOMETRY columns differently there"};
        if (!read_extra_field(ty, val, wire, n_char, n_es, x))
            return map_fault{errc::invalid_value, "TABLE_MAP optional metadata field " + std::to_string(ty) + " is malformed"};
    }
    return {};
}

// ---------------------------------------------------------------------------
// The column list

/// Where the next ENUM, SET, GEOMETRY and character column finds its optional metadata.
struct extra_cursor {
    std::size_t ci = 0, ei = 0, en = 0, sn = 0, gi = 0;
};

/// The SQL type of one column from its wire description and the optional metadata.
inline map_status column_type_of(const table_info& t, std::size_t i, charset_kind cs, const table_map_extra& x,
                                 extra_cursor& at, column_type& ct) {
    const auto& w = t.wire[i];
    const bool binary = cs == charset_kind::binary;
    const unsigned mb = cs == charset_kind::utf8mb4 ? 4 : cs == charset_kind::utf8mb3 ? 3 : 1;
    switch (w.type) {
        case t_tiny: ct.type = sql_type::tinyint; break;
        case t_short: ct.type = sql_type::smallint; break;
        case t_int24: ct.type = sql_type::mediumint; break;
        case t_long: ct.type = sql_type::int_; break;
        case t_longlong: ct.type = sql_type::bigint; break;
        case t_float: ct.type = sql_type::float_; break;
        case t_double: ct.type = sql_type::double_; break;
        case t_newdecimal:
            ct.type = sql_type::decimal;
            ct.precision = static_cast<std::uint8_t>(w.meta >> 8);
            ct.scale = static_cast<std::uint8_t>(w.meta & 0xff);
            break;
        case t_year: ct.type = sql_type::year; break;
        case t_date: case t_newdate: ct.type = sql_type::date; break;
        case t_time: ct.type = sql_type::time; ct.fsp = w.meta <= 6 ? static_cast<std::uint8_t>(w.meta) : 0; break;
        case t_time2: ct.type = sql_type::time; ct.fsp = static_cast<std::uint8_t>(w.meta); break;
        case t_datetime: ct.type = sql_type::datetime; ct.fsp = w.meta <= 6 ? static_cast<std::uint8_t>(w.meta) : 0; break;
        case t_datetime2: ct.type = sql_type::datetime; ct.fsp = static_cast<std::uint8_t>(w.meta); break;
        case t_timestamp: ct.type = sql_type::timestamp; ct.fsp = w.meta <= 6 ? static_cast<std::uint8_t>(w.meta) : 0; break;
        case t_timestamp2: ct.type = sql_type::timestamp; ct.fsp = static_cast<std::uint8_t>(w.meta); break;
        case t_bit: ct.type = sql_type::bit; ct.length = w.length; break;
        case t_varchar: case t_var_string:
            ct.type = binary ? sql_type::varbinary : sql_type::varchar;
            ct.length = w.length / mb;
            break;
        case t_string:
            ct.type = binary ? sql_type::binary : sql_type::char_;
            ct.length = w.length / mb;
            break;
        case t_blob: ct.type = blob_type(w.length, binary); break;
        case t_json: ct.type = sql_type::json; break;
        case t_geometry: {
            ct.type = sql_type::geometry;
            static constexpr const char* gnames[] = {"", "point", "linestring", "polygon", "multipoint",
                                                    "multilinestring", "multipolygon", "geometrycollection"};
            if (at.gi < x.geo.size() && x.geo[at.gi] < 8) ct.geometry_type = gnames[x.geo[at.gi]];
            ++at.gi;
            break;
        }
        case t_enum:
        case t_set: {
            const bool is_enum = w.type == t_enum;
            ct.type = is_enum ? sql_type::enum_ : sql_type::set;
            const auto& src = is_enum ? x.enum_vals : x.set_vals;
            std::size_t& k = is_enum ? at.en : at.sn;
            if (k < src.size()) {
                for (const auto& name : src[k]) {
                    std::string u;
                    if (!to_utf8(cs == charset_kind::unknown ? charset_kind::utf8mb4 : cs, name, u).empty())
                        return map_fault{errc::unsupported, "ENUM/SET member names in collation " + std::to_string(w.collation)};
                    ct.members.push_back(std::move(u));
                }
            }
            ++k;
            break;
        }
        default:
            return map_fault{errc::unsupported, "column " + std::to_string(i + 1) + " of `" + t.schema + "`.`" + t.table +
                                                    "` has unsupported type " + std::to_string(w.type)};
    }
    if (w.collation != 0 && cs == charset_kind::unknown && !binary) ct.charset = "collation " + std::to_string(w.collation);
    return {};
}

/// Builds the column list of `t` from its wire columns and the optional metadata; sets the
/// wire columns' signedness and collation on the way.
inline map_status build_columns(table_info& t, const table_map_extra& x, const server_flavour& flavour,
                                std::vector<column>& cols) {
    const std::size_t n = t.wire.size();
    cols.resize(n);
    extra_cursor at;
    for (std::size_t i = 0; i < n; ++i) {
        auto& w = t.wire[i];
        auto& col = cols[i];
        col.nullable = w.nullable;
        col.name = x.have_names ? x.names[i] : "@" + std::to_string(i + 1);
        w.is_unsigned = x.uns[i];
        col.type.is_unsigned = x.uns[i];
        if (is_character_wire(w.type)) {
            if (at.ci < x.char_coll.size()) w.collation = x.char_coll[at.ci];
            ++at.ci;
        } else if (in_charset_metadata(w.type, flavour)) {  // MariaDB's GEOMETRY: its entry (63) is skipped
            ++at.ci;
        } else if (is_enum_set_wire(w.type)) {
            if (at.ei < x.es_coll.size()) w.collation = x.es_coll[at.ei];
            ++at.ei;
        }
        const auto cs = charset_of(w.collation);
        col.type.charset = w.collation ? std::string(to_string(cs)) : std::string();
        if (auto f = column_type_of(t, i, cs, x, at, col.type)) return f;
    }
    for (auto i : x.pk) cols[static_cast<std::size_t>(i)].primary_key = true;
    t.names_from_metadata = x.have_names;
    t.signedness_known = x.have_signed;
    return {};
}

// ---------------------------------------------------------------------------
// Schema provider

/// What the schema provider says of the table of `t`. The one place the parser asks it: a
/// provider that knows the schema at a binlog position (schema history) plugs in here.
inline result<columns_ptr> provider_columns(schema_provider& provider, const table_info& t) {
    return provider.columns(t.schema, t.table);
}

/// MariaDB's old TIME/DATETIME/TIMESTAMP columns: the fractional-seconds precision the binlog
/// does not carry, from the provider's column (DATETIME_PRECISION) when the types agree.
inline void take_precision(wire_column& w, column& col, const column& pc) {
    if (!is_old_temporal_wire(w.type) || w.meta != unknown_precision || !compatible(w, pc.type) || pc.type.fsp > 6) return;
    w.meta = pc.type.fsp;
    col.type.fsp = pc.type.fsp;
}

/// A collation id standing for the provider's character set of a column the binlog logged
/// without one (binlog_row_metadata=NO_LOG, MySQL 5.7): 63 for the binary types, else the
/// charset's default collation; `unnamed_charset` for a charset rowcast cannot convert (its
/// values are refused, naming the charset).
inline constexpr std::uint32_t unnamed_charset = 0xffffffffu;
inline std::uint32_t provider_collation(const column& pc) {
    const auto t = pc.type.type;
    if (is_blob_sql_type(t) || t == sql_type::uuid || t == sql_type::inet6 || t == sql_type::inet4) return 63;
    const std::string_view cs = pc.type.charset;
    if (cs == "utf8mb4") return 45;
    if (cs == "utf8mb3" || cs == "utf8") return 33;
    if (cs == "latin1") return 8;
    if (cs == "ascii") return 11;
    if (cs == "binary") return 63;
    return unnamed_charset;
}

/// With names from the binlog: a provider only refines types the wire cannot show (MariaDB
/// UUID/INET6/INET4, JSON as LONGTEXT) for columns whose name and type agree, and gives the
/// precision of MariaDB's old temporal columns.
inline void refine_types(schema_provider& provider, table_info& t, std::vector<column>& cols) {
    auto pr = provider_columns(provider, t);
    if (!pr || !*pr) return;
    for (std::size_t i = 0; i < cols.size(); ++i) {
        auto pi = (*pr)->find(cols[i].name);
        if (!pi) continue;
        const auto& pc = (**pr)[*pi];
        take_precision(t.wire[i], cols[i], pc);
        const auto pt = pc.type.type;
        if ((pt == sql_type::uuid || pt == sql_type::inet6 || pt == sql_type::inet4 || pt == sql_type::json) &&
            compatible(t.wire[i], pc.type) && (pt == sql_type::json || t.wire[i].length == (pt == sql_type::inet4 ? 4u : 16u)))
            cols[i].type.type = pt;
    }
}

/// Checks a provider's column against the wire column it describes.
inline map_status check_provider_column(const table_info& t, std::size_t i, const column& pc) {
    const auto& w = t.wire[i];
    if (!compatible(w, pc.type))
        return map_fault{errc::type_mismatch, "`" + t.schema + "`.`" + t.table + "` column " + std::to_string(i + 1) + " `" +
                                                  pc.name + "`: the provider says " + std::string(to_string(pc.type.type)) +
                                                  ", the binlog logged type " + std::to_string(w.type)};
    if ((pc.type.type == sql_type::uuid || pc.type.type == sql_type::inet6) && w.length != 16)
        return map_fault{errc::type_mismatch, "column `" + pc.name + "`: UUID/INET6 must be logged as 16 bytes"};
    if (pc.type.type == sql_type::inet4 && w.length != 4)
        return map_fault{errc::type_mismatch, "column `" + pc.name + "`: INET4 must be logged as 4 bytes"};
    return {};
}

/// Without names in the binlog: names, types and what else the binlog did not say come
/// from the provider, which must describe the same number of compatible columns.
inline map_status columns_from_provider(schema_provider& provider, table_info& t, const table_map_extra& x,
                                        std::vector<column>& cols) {
    const std::size_t n = cols.size();
    auto pr = provider_columns(provider, t);
    if (!pr)
        return map_fault{pr.error_value().code.value() == static_cast<int>(errc::io_error) ? errc::io_error : errc::missing_field,
                         "schema provider: " + pr.error_value().message};
    const columns_ptr& p = *pr;
    if (!p || p->size() != n)
        return map_fault{errc::type_mismatch, "`" + t.schema + "`.`" + t.table + "`: the binlog has " + std::to_string(n) +
                                                  " columns, the schema provider " + std::to_string(p ? p->size() : 0)};
    for (std::size_t i = 0; i < n; ++i) {
        const auto& pc = (*p)[i];
        if (auto f = check_provider_column(t, i, pc)) return f;
        auto& col = cols[i];
        col.name = pc.name;
        if (!x.have_pk) col.primary_key = pc.primary_key;
        col.type.type = pc.type.type;
        if (!x.have_signed) {
            col.type.is_unsigned = pc.type.is_unsigned;
            t.wire[i].is_unsigned = pc.type.is_unsigned;
        }
        if (col.type.members.empty()) col.type.members = pc.type.members;
        if (col.type.charset.empty()) col.type.charset = pc.type.charset;
        if (col.type.length == 0) col.type.length = pc.type.length;
        if (col.type.geometry_type.empty()) col.type.geometry_type = pc.type.geometry_type;
        take_precision(t.wire[i], col, pc);
        auto& w = t.wire[i];
        if (is_character_wire(w.type) && w.collation == 0) {  // no charset metadata: the provider's
            w.collation = provider_collation(pc);
            col.type.charset = w.collation == unnamed_charset ? pc.type.charset : std::string(to_string(charset_of(w.collation)));
            if (pc.type.length) col.type.length = pc.type.length;
        }
    }
    return {};
}

/// The whole TABLE_MAP after table id and flags, into `t` (table_id already set).
/// `flavour`: the server that wrote the binlog (parse_server_version of its FORMAT_DESCRIPTION).
inline map_status decode_table_map(cursor& c, schema_provider* provider, const server_flavour& flavour, table_info& t) {
    table_map_fixed f;
    if (auto e = read_table_map_fixed(c, f)) return e;
    t.schema.assign(f.schema);
    t.table.assign(f.table);
    if (auto e = read_wire_columns(f, flavour, t.wire)) return e;
    table_map_extra x;
    if (auto e = read_table_map_extra(c, t.wire, flavour, x)) return e;
    std::vector<column> cols;
    if (auto e = build_columns(t, x, flavour, cols)) return e;
    if (provider) {
        // With names from the binlog, MariaDB types the wire cannot show stay as logged
        // (binary) unless the provider refines them.
        if (x.have_names) refine_types(*provider, t, cols);
        else if (auto e = columns_from_provider(*provider, t, x, cols)) return e;
    }
    t.columns = make_columns(std::move(cols));
    return {};
}

}  // namespace detail::binlog
ROWCAST_NAMESPACE_END
