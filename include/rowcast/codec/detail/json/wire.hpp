// Internal: the wire-compatible JSON envelopes: Debezium (MySQL/MariaDB connector
// message shapes and value encodings), Maxwell and smpl-repl strict. Each writes what
// the foreign consumer expects and, unless turned off, a "rowcast" object with the
// event's metadata and, for each value the foreign form cannot carry exactly, its
// rowcast form ("exact"), so decoding gives back the event. Layout: docs/json.md.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/codec/detail/json/wire_options.hpp>
#include <rowcast/codec/detail/json/write.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/event.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail {

// --- Connect Decimal: unscaled two's complement, big-endian (Java BigInteger.toByteArray) ---

/// Digits of `d` ("-12.34") scaled to `scale` fraction digits as big-endian two's complement
/// bytes appended to `out`. Returns false if digits were dropped or added (the text would not
/// come back the same), true if the bytes carry `d` exactly.
inline bool decimal_to_connect(std::string_view d, unsigned scale, std::string& out) {
    bool neg = false, plus = false;
    if (!d.empty() && (d[0] == '-' || d[0] == '+')) neg = d[0] == '-', plus = !neg, d.remove_prefix(1);
    const std::size_t dot = d.find('.');
    const std::string_view ip = d.substr(0, dot);
    const std::string_view fp = dot == std::string_view::npos ? std::string_view{} : d.substr(dot + 1);
    // "+1.5", "05.50" and "5." read back as "1.5", "5.50" and "5": not exact (fuzz_json found "05.50")
    bool exact = fp.size() == scale && !ip.empty() && !plus && !(ip.size() > 1 && ip[0] == '0') &&
                 !(dot != std::string_view::npos && fp.empty());
    std::vector<unsigned char> mag;  // little-endian base 256
    auto push_digit = [&](unsigned dig) {
        unsigned carry = dig;
        for (auto& b : mag) {
            const unsigned v = b * 10u + carry;
            b = static_cast<unsigned char>(v & 0xff);
            carry = v >> 8;
        }
        while (carry) mag.push_back(static_cast<unsigned char>(carry & 0xff)), carry >>= 8;
    };
    for (char c : ip) push_digit(static_cast<unsigned>(c - '0'));
    for (unsigned i = 0; i < scale; ++i) push_digit(i < fp.size() ? static_cast<unsigned>(fp[i] - '0') : 0u);
    for (std::size_t i = scale; i < fp.size(); ++i)
        if (fp[i] != '0') exact = false;
    while (!mag.empty() && mag.back() == 0) mag.pop_back();
    if (neg && mag.empty()) exact = false;  // "-0" reads back as "0"
    if (neg && !mag.empty()) {               // two's complement of the magnitude
        unsigned carry = 1;
        for (auto& b : mag) {
            const unsigned v = static_cast<unsigned char>(~b) + carry;
            b = static_cast<unsigned char>(v & 0xff);
            carry = v >> 8;
        }
        if (!(mag.back() & 0x80)) mag.push_back(0xff);
    } else if (mag.empty() || (mag.back() & 0x80)) {
        mag.push_back(0);
    }
    for (auto it = mag.rbegin(); it != mag.rend(); ++it) out += static_cast<char>(*it);
    return exact;
}

/// Inverse of decimal_to_connect: big-endian two's complement bytes and a scale to decimal text.
inline std::string connect_to_decimal(std::string_view bytes, unsigned scale) {
    std::vector<unsigned char> mag(bytes.rbegin(), bytes.rend());  // little-endian
    const bool neg = !mag.empty() && (mag.back() & 0x80);
    if (neg) {
        unsigned carry = 1;
        for (auto& b : mag) {
            const unsigned v = static_cast<unsigned char>(~b) + carry;
            b = static_cast<unsigned char>(v & 0xff);
            carry = v >> 8;
        }
    }
    std::string digits;  // reversed
    while (!mag.empty()) {
        unsigned rem = 0;
        for (auto it = mag.rbegin(); it != mag.rend(); ++it) {
            const unsigned v = (rem << 8) | *it;
            *it = static_cast<unsigned char>(v / 10);
            rem = v % 10;
        }
        digits += static_cast<char>('0' + rem);
        while (!mag.empty() && mag.back() == 0) mag.pop_back();
    }
    while (digits.size() <= scale) digits += '0';
    std::string out;
    if (neg) out += '-';
    for (std::size_t i = digits.size(); i-- > 0;) {
        out += digits[i];
        if (i == scale && scale) out += '.';
    }
    return out;
}

// --- shared value pieces --------------------------------------------------------------------

inline bool zero_date(const date& d) noexcept { return d.year == 0 || d.month == 0 || d.day == 0; }

inline std::int64_t datetime_us(const datetime& d) noexcept {
    const std::int64_t days = days_from_civil(d.day.year, d.day.month, d.day.day);
    return (days * 86400 + d.hour * 3600 + d.minute * 60 + d.second) * 1000000 + d.microsecond;
}

/// Fraction digits to write: the column's fsp, or 6 when the value needs more.
inline unsigned fraction_digits(std::uint32_t us, unsigned fsp) noexcept {
    if (fsp > 6) fsp = 6;
    unsigned div = 1;
    for (unsigned i = fsp; i < 6; ++i) div *= 10;
    return us % div ? 6u : fsp;
}

/// Appends ".fff" with `n` digits of `us` (nothing for n = 0).
inline void append_fraction(std::string& t, std::uint32_t us, unsigned n) {
    if (!n) return;
    char b[7];
    put_digits(b, us, 6);
    t += '.';
    t.append(b, n);
}

/// "YYYY-MM-DD HH:MM:SS[.f]" with `fsp` fraction digits (more when the value needs them).
inline void append_sql_datetime(std::string& t, const datetime& d, unsigned fsp) {
    append_date(t, d.day);
    t += ' ';
    std::string c;
    append_clock(c, d.hour, d.minute, d.second, 0);
    t.append(c, 0, 8);
    append_fraction(t, d.microsecond, fraction_digits(d.microsecond, fsp));
}

inline datetime datetime_of_us(std::int64_t us) noexcept {
    std::int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) frac += 1000000, --secs;
    std::int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) sod += 86400, --days;
    const civil c = civil_from_days(days);
    return datetime{date{static_cast<std::uint16_t>(c.y), static_cast<std::uint8_t>(c.m), static_cast<std::uint8_t>(c.d)},
                    static_cast<std::uint8_t>(sod / 3600), static_cast<std::uint8_t>(sod / 60 % 60),
                    static_cast<std::uint8_t>(sod % 60), static_cast<std::uint32_t>(frac)};
}

/// TIME as "[-]HH:MM:SS[.f]".
inline void append_sql_time(std::string& t, time v, unsigned fsp) {
    std::string full;
    append_time(full, v);  // "[-]HH:MM:SS.ffffff"
    const std::uint64_t us = v.microseconds < 0 ? 0 - static_cast<std::uint64_t>(v.microseconds)
                                                 : static_cast<std::uint64_t>(v.microseconds);
    const unsigned n = fraction_digits(static_cast<std::uint32_t>(us % 1000000), fsp);
    t.append(full, 0, full.size() - 7);
    append_fraction(t, static_cast<std::uint32_t>(us % 1000000), n);
}

/// The state an encoder keeps between events (one per json_codec).
struct wire_state {
    std::vector<std::uint32_t> lossy[2];  // columns whose value needs its exact form: [0] after, [1] before
    std::vector<std::uint32_t> absent_before;  // Maxwell: columns absent from before but not from after
    // Debezium Connect schema sections of the last table encoded
    columns_ptr hold;
    std::string db, table, value_schema, key_schema;
    // Debezium transaction tracking: rows per table since BEGIN
    std::string tx_id;
    std::uint64_t tx_rows = 0;
    std::vector<std::pair<std::string, std::uint64_t>> tx_tables;
    bool has_last = false;       // a row of tx_id was counted: its position and per-table order
    std::uint32_t last_pos = 0;
    std::uint64_t last_dc = 0;
    std::string tmp;
};

/// `"rowcast":{…}` plus "exact": the rowcast form of each value listed in st.lossy.
template <class S>
void append_wire_ext(json_sink& out, const basic_event<S>& e, wire_state& st, ext_flags f,
                     std::string_view envelope = {}) {
    out += ',';
    append_json_ext(out, e, f);
    if (st.lossy[0].empty() && st.lossy[1].empty() && envelope.empty() && st.absent_before.empty()) return;
    out.resize(out.size() - 1);  // reopen the object
    if (!envelope.empty()) {
        out += ",\"envelope\":\"";
        out += envelope;
        out += '"';
    }
    if (!st.absent_before.empty()) {
        out += ",\"absent_before\":[";
        for (std::size_t i = 0; i < st.absent_before.size(); ++i) {
            if (i) out += ',';
            append_json_meta(out, (*e.columns)[st.absent_before[i]].name);
        }
        out += ']';
    }
    if (st.lossy[0].empty() && st.lossy[1].empty()) {
        out += '}';
        return;
    }
    out += ",\"exact\":{";
    bool first = true;
    for (int w = 0; w < 2; ++w) {
        if (st.lossy[w].empty()) continue;
        if (!first) out += ',';
        first = false;
        out += w == 0 ? "\"after\":{" : "\"before\":{";
        const auto& img = w == 0 ? e.after : e.before;
        for (std::size_t i = 0; i < st.lossy[w].size(); ++i) {
            const std::uint32_t c = st.lossy[w][i];
            if (i) out += ',';
            append_json_meta(out, (*e.columns)[c].name);
            out += ':';
            append_json_value(out, img[c], (*e.columns)[c].type);
        }
        out += '}';
    }
    out += "}}";
}

/// A value of an untyped column (sql_type::unknown: from a trigger or a foreign message
/// without types) other than text: numbers as JSON numbers, the rest in its rowcast form.
/// Returns false when that does not read back as the same value (integers and doubles do).
template <class S>
bool append_untyped_plain(json_sink& out, const basic_value<S>& v) {
    switch (v.kind()) {
        case value_kind::int64: append_number(out, *std::get_if<std::int64_t>(&v)); return true;
        case value_kind::uint64: append_number(out, *std::get_if<std::uint64_t>(&v)); return *std::get_if<std::uint64_t>(&v) > 0x7fffffffffffffffULL;
        case value_kind::float64: append_json_float(out, *std::get_if<double>(&v)); return !std::isnan(*std::get_if<double>(&v)) && !std::isinf(*std::get_if<double>(&v));
        default: {
            static const column_type untyped{};
            append_json_value(out, v, untyped);
            return false;
        }
    }
}

/// The start every wire value writer shares: NULL; a value of another kind than its
/// column's (written null, its rowcast form goes to "exact"); a non-text value of an
/// untyped column. Returns 1 (written, exact), 0 (written, not exact) or -1 (not handled).
template <class S>
int append_wire_common(json_sink& out, const basic_value<S>& v, const column_type& t) {
    const value_kind k = v.kind();
    if (k == value_kind::null) return out += "null", 1;
    const bool typed = t.type != sql_type::unknown;
    if (typed && k != t.natural_kind()) return out += "null", 0;
    if (!typed && k != value_kind::text) return append_untyped_plain(out, v) ? 1 : 0;
    return -1;
}

/// A JSON string of what fill(std::string&) appends.
template <class F>
void append_quoted(json_sink& out, F&& fill) {
    out += '"';
    out.via_string(fill);
    out += '"';
}

/// A string value: exact when it is UTF-8 and `consistent` (for ENUM/SET names: its index
/// or mask is the one the column's members give); else U+FFFD replaces invalid bytes.
inline bool append_exact_string(json_sink& out, std::string_view names, bool consistent = true) {
    if (append_json_string(out, names)) return consistent;
    append_json_meta(out, names);
    return false;
}

// --- Debezium ---------------------------------------------------------------------------

inline void append_binary_mode(json_sink& out, std::string_view data, binary_handling m) {
    if (m == binary_handling::hex) {
        out += '"';
        char* p = out.cursor(data.size() * 2);
        for (unsigned char c : data) *p++ = hex_lower[c >> 4], *p++ = hex_lower[c & 15];
        out.advance(data.size() * 2);
        out += '"';
        return;
    }
    if (m == binary_handling::base64_url_safe) {
        out += '"';
        out.via_string([&](std::string& t) {
            const std::size_t at = t.size();
            append_base64(t, data);
            for (std::size_t i = at; i < t.size(); ++i) t[i] = t[i] == '+' ? '-' : t[i] == '/' ? '_' : t[i];
        });
        out += '"';
        return;
    }
    append_base64_string(out, data);
}

inline bool is_ms_time(const column_type& t, time_precision m) noexcept {
    return m == time_precision::connect || (m == time_precision::adaptive && t.fsp <= 3);
}
inline bool is_ms_datetime(const column_type& t, time_precision m) noexcept {
    return m == time_precision::connect || t.fsp <= 3;
}

/// One value in Debezium's encoding for its column. Returns false if the encoding does not
/// carry the value exactly (then the caller keeps its rowcast form in "exact").
template <class S>
bool append_dbz_value(json_sink& out, const basic_value<S>& v, const column& c, const debezium_options& o) {
    const column_type& t = c.type;
    const value_kind k = v.kind();
    if (const int r = append_wire_common(out, v, t); r >= 0) return r == 1;
    switch (k) {
        case value_kind::int64: append_number(out, *std::get_if<std::int64_t>(&v)); return true;
        case value_kind::uint64: {
            const std::uint64_t u = *std::get_if<std::uint64_t>(&v);
            if (t.type == sql_type::bigint && o.bigint_unsigned == bigint_unsigned_handling::precise) {
                char b[24];
                auto r = std::to_chars(b, b + sizeof b, u);
                std::string bytes;
                decimal_to_connect(std::string_view(b, static_cast<std::size_t>(r.ptr - b)), 0, bytes);
                append_base64_string(out, bytes);
                return true;
            }
            if (t.type == sql_type::bigint) {
                append_number(out, static_cast<std::int64_t>(u));
                return u <= 0x7fffffffffffffffULL;
            }
            append_number(out, u);
            return true;
        }
        case value_kind::float32: append_json_float(out, *std::get_if<float>(&v)); return true;
        case value_kind::float64: append_json_float(out, *std::get_if<double>(&v)); return true;
        case value_kind::decimal: {
            const std::string_view d = std::get_if<basic_decimal<S>>(&v)->digits;
            if (o.decimal == decimal_handling::string) return append_json_meta(out, d), true;
            if (o.decimal == decimal_handling::double_) {
                double x = 0;
                std::from_chars(d.data() + (!d.empty() && d[0] == '+'), d.data() + d.size(), x);
                append_json_float(out, x);
                return false;
            }
            const std::size_t dot = d.find('.');
            const unsigned own = dot == std::string_view::npos ? 0u : static_cast<unsigned>(d.size() - dot - 1);
            std::string& bytes = out.scratch();
            bytes.clear();
            if (!valid_decimal(d)) return out += "null", false;  // not decimal text: kept in "exact" only
            const bool exact = decimal_to_connect(d, t.type == sql_type::decimal ? t.scale : own, bytes);
            std::string b64;
            append_base64(b64, bytes);
            out += '"';
            out += b64;
            out += '"';
            return exact;
        }
        case value_kind::text: return append_exact_string(out, std::get_if<basic_text<S>>(&v)->utf8);
        case value_kind::json: return append_exact_string(out, std::get_if<basic_json_text<S>>(&v)->text);
        case value_kind::bytes: append_binary_mode(out, std::get_if<basic_bytes<S>>(&v)->data, o.binary); return true;
        case value_kind::date: {
            const date d = *std::get_if<date>(&v);
            if (zero_date(d)) return out += c.nullable ? "null" : "0", false;
            append_number(out, days_from_civil(d.year, d.month, d.day));
            return true;
        }
        case value_kind::time: {
            const std::int64_t us = std::get_if<time>(&v)->microseconds;
            if (!is_ms_time(t, o.time)) return append_number(out, us), true;
            append_number(out, floor_div(us, 1000));
            return us % 1000 == 0;
        }
        case value_kind::datetime: {
            const datetime& d = *std::get_if<datetime>(&v);
            if (zero_date(d.day)) return out += c.nullable ? "null" : "0", false;
            const std::int64_t us = datetime_us(d);
            if (!is_ms_datetime(t, o.time)) return append_number(out, us), true;
            append_number(out, floor_div(us, 1000));
            return us % 1000 == 0;
        }
        case value_kind::timestamp: {
            const std::int64_t us = std::get_if<timestamp>(&v)->microseconds;
            if (us == 0) return out += c.nullable ? "null" : "\"1970-01-01T00:00:00Z\"", false;
            if (!timestamp_in_range(us)) return append_number(out, us), false;
            out += '"';
            out.via_string([&](std::string& s) {
                append_timestamp(s, timestamp{us});  // "…SS.ffffffZ"
                const std::uint32_t frac = static_cast<std::uint32_t>(((us % 1000000) + 1000000) % 1000000);
                const unsigned n = fraction_digits(frac, t.fsp);
                s.resize(s.size() - 8);  // drop ".ffffffZ"
                append_fraction(s, frac, n);
                s += 'Z';
            });
            out += '"';
            return true;
        }
        case value_kind::year: append_number(out, std::get_if<year>(&v)->value); return true;
        case value_kind::bit: {
            const bit& b = *std::get_if<bit>(&v);
            const std::uint8_t w = natural_bit_width(t);
            if (w == 1) out += (b.bits & 1) ? "true" : "false";
            else {
                std::string bytes;
                for (unsigned i = 0; i < (w + 7u) / 8u; ++i) bytes += static_cast<char>((b.bits >> (8 * i)) & 0xff);
                append_base64_string(out, bytes);
            }
            return b.width == w && (w == 64 || (b.bits >> w) == 0);
        }
        case value_kind::enumeration: {
            const auto& e = *std::get_if<basic_enum_value<S>>(&v);
            return append_exact_string(out, e.name, enum_index_of(t, e.name) == e.index);
        }
        case value_kind::set: {
            const auto& s = *std::get_if<basic_set_value<S>>(&v);
            return append_exact_string(out, s.names, set_mask_of(t, s.names) == s.mask);
        }
        case value_kind::geometry: {
            const auto& g = *std::get_if<basic_geometry<S>>(&v);
            out += "{\"wkb\":";
            append_base64_string(out, g.wkb);
            out += ",\"srid\":";
            append_number(out, g.srid);
            out += '}';
            return true;
        }
        case value_kind::absent:
        case value_kind::null: break;
    }
    out += "null";
    return false;
}

/// An image without absent columns; write(value, column) returns false for a value to keep
/// exactly in "exact" (its index goes to `lossy`).
template <class S, class W>
void append_wire_image(json_sink& out, const std::vector<basic_value<S>>& img, const column_list& cols,
                       std::vector<std::uint32_t>& lossy, W&& write) {
    append_image_with(out, img, cols, [&](const basic_value<S>& v, const column& c, std::size_t i) {
        if (!write(v, c)) lossy.push_back(static_cast<std::uint32_t>(i));
    });
}

template <class S>
void append_dbz_image(json_sink& out, const std::vector<basic_value<S>>& img, const column_list& cols,
                      const debezium_options& o, std::vector<std::uint32_t>& lossy) {
    append_wire_image(out, img, cols, lossy,
                      [&](const basic_value<S>& v, const column& c) { return append_dbz_value(out, v, c, o); });
}

// Connect schema of one column, as a field of a struct.
inline void append_connect_field(json_sink& out, const column& c, const debezium_options& o, bool optional) {
    const column_type& t = c.type;
    const char* type = "string";
    std::string_view name;
    std::string params;  // "k":"v",…
    auto param = [&](std::string_view k, std::string_view v) {
        if (!params.empty()) params += ',';
        params += '"';
        params += k;
        params += "\":";
        json_sink p(params, out.scratch());
        append_json_meta(p, v);
    };
    const bool ms_time = is_ms_time(t, o.time), ms_dt = is_ms_datetime(t, o.time);
    const bool connect = o.time == time_precision::connect;
    switch (t.type) {
        case sql_type::tinyint: type = "int16"; break;
        case sql_type::smallint: type = t.is_unsigned ? "int32" : "int16"; break;
        case sql_type::mediumint: type = "int32"; break;
        case sql_type::int_: type = t.is_unsigned ? "int64" : "int32"; break;
        case sql_type::bigint:
            type = "int64";
            if (t.is_unsigned && o.bigint_unsigned == bigint_unsigned_handling::precise) {
                type = "bytes";
                name = "org.apache.kafka.connect.data.Decimal";
                param("scale", "0");
                param("connect.decimal.precision", "20");
            }
            break;
        case sql_type::float_: type = "float32"; break;
        case sql_type::double_: type = "float64"; break;
        case sql_type::decimal:
            if (o.decimal == decimal_handling::double_) type = "float64";
            else if (o.decimal == decimal_handling::precise) {
                type = "bytes";
                name = "org.apache.kafka.connect.data.Decimal";
                param("scale", std::to_string(t.scale));
                if (t.precision) param("connect.decimal.precision", std::to_string(t.precision));
            }
            break;
        case sql_type::bit:
            if (natural_bit_width(t) == 1) type = "boolean";
            else {
                type = "bytes";
                name = "io.debezium.data.Bits";
                param("length", std::to_string(natural_bit_width(t)));
            }
            break;
        case sql_type::year: type = "int32", name = "io.debezium.time.Year"; break;
        case sql_type::date: type = "int32", name = connect ? "org.apache.kafka.connect.data.Date" : "io.debezium.time.Date"; break;
        case sql_type::time:
            if (connect) type = "int32", name = "org.apache.kafka.connect.data.Time";
            else if (ms_time) type = "int32", name = "io.debezium.time.Time";
            else type = "int64", name = "io.debezium.time.MicroTime";
            break;
        case sql_type::datetime:
            type = "int64";
            name = connect ? "org.apache.kafka.connect.data.Timestamp"
                   : ms_dt ? "io.debezium.time.Timestamp"
                           : "io.debezium.time.MicroTimestamp";
            break;
        case sql_type::timestamp: name = "io.debezium.time.ZonedTimestamp"; break;
        case sql_type::binary:
        case sql_type::varbinary:
        case sql_type::tinyblob:
        case sql_type::blob:
        case sql_type::mediumblob:
        case sql_type::longblob: type = o.binary == binary_handling::bytes ? "bytes" : "string"; break;
        case sql_type::enum_:
        case sql_type::set: {
            name = t.type == sql_type::enum_ ? "io.debezium.data.Enum" : "io.debezium.data.EnumSet";
            std::string allowed;
            for (std::size_t i = 0; i < t.members.size(); ++i) allowed += (i ? "," : ""), allowed += t.members[i];
            param("allowed", allowed);
            break;
        }
        case sql_type::json: name = "io.debezium.data.Json"; break;
        case sql_type::geometry:
            out += "{\"type\":\"struct\",\"fields\":[{\"type\":\"bytes\",\"optional\":false,\"field\":\"wkb\"},"
                   "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],\"optional\":";
            out += optional ? "true" : "false";
            out += ",\"name\":\"io.debezium.data.geometry.Geometry\",\"version\":1,\"field\":";
            append_json_meta(out, c.name);
            out += '}';
            return;
        default: break;
    }
    out += "{\"type\":\"";
    out += type;
    out += "\",\"optional\":";
    out += optional ? "true" : "false";
    if (!name.empty()) {
        out += ",\"name\":\"";
        out += name;
        out += "\",\"version\":1";
    }
    if (!params.empty()) {
        out += ",\"parameters\":{";
        out += params;
        out += '}';
    }
    out += ",\"field\":";
    append_json_meta(out, c.name);
    out += '}';
}

inline constexpr std::string_view dbz_source_schema =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},)"
    R"({"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},)"
    R"({"type":"int64","optional":false,"field":"ts_ms"},)"
    R"({"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,)"
    R"("parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},)"
    R"("default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},)"
    R"({"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},)"
    R"({"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":true,"field":"table"},)"
    R"({"type":"int64","optional":false,"field":"server_id"},{"type":"string","optional":true,"field":"gtid"},)"
    R"({"type":"string","optional":false,"field":"file"},{"type":"int64","optional":false,"field":"pos"},)"
    R"({"type":"int32","optional":false,"field":"row"},{"type":"int64","optional":true,"field":"thread"},)"
    R"({"type":"string","optional":true,"field":"query"}],"optional":false,"name":")";
inline constexpr std::string_view dbz_tx_block_schema =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},)"
    R"({"type":"int64","optional":false,"field":"total_order"},)"
    R"({"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block",)"
    R"("version":1,"field":"transaction"})";
inline constexpr std::string_view dbz_tx_message_schema =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},)"
    R"({"type":"string","optional":false,"field":"id"},{"type":"int64","optional":true,"field":"event_count"},)"
    R"({"type":"array","items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"data_collection"},)"
    R"({"type":"int64","optional":false,"field":"event_count"}],"optional":false},"optional":true,"field":"data_collections"},)"
    R"({"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1})";

/// "mariadb" when the GTID is MariaDB's (domain-server-sequence), else "mysql".
template <class S>
std::string_view dbz_connector(const basic_event<S>& e) noexcept {
    const std::string_view g = e.source.gtid;
    return !g.empty() && g.find(':') == std::string_view::npos && g.find('-') != std::string_view::npos ? "mariadb"
                                                                                                          : "mysql";
}

inline void append_ts3(json_sink& out, std::int64_t us, bool leading_comma = true) {
    if (leading_comma) out += ',';
    out += "\"ts_ms\":";
    append_number(out, floor_div(us, 1000));
    out += ",\"ts_us\":";
    append_number(out, us);
    out += ",\"ts_ns\":";
    if (us > 9223372036854775LL || us < -9223372036854775LL) out += "null";
    else append_number(out, us * 1000);
}

/// The payload's ts_ms/ts_us/ts_ns: when the change was captured (Debezium: processed);
/// null when the event does not say (never the encoding time: encoding again must give the
/// same message).
inline void append_processing_ts(json_sink& out, std::int64_t capture_us) {
    if (capture_us) append_ts3(out, capture_us);
    else out += ",\"ts_ms\":null,\"ts_us\":null,\"ts_ns\":null";
}

template <class S>
void append_dbz_source(json_sink& out, const basic_event<S>& e, const debezium_options& o) {
    out += "\"source\":{\"version\":\"rowcast-";
    out += version_string;
    out += "\",\"connector\":\"";
    out += dbz_connector(e);
    out += "\",\"name\":";
    append_json_meta(out, o.server_name);
    const std::int64_t ct = us_of(e.commit_time);
    out += ",\"ts_ms\":";
    append_number(out, floor_div(ct, 1000));
    out += is_snapshot_read(e) ? ",\"snapshot\":\"true\",\"db\":" : ",\"snapshot\":\"false\",\"db\":";
    append_json_meta(out, e.schema);
    out += ",\"sequence\":null,\"ts_us\":";
    append_number(out, ct);
    out += ",\"ts_ns\":";
    if (ct > 9223372036854775LL || ct < -9223372036854775LL) out += "null";
    else append_number(out, ct * 1000);
    out += ",\"table\":";
    if (std::string_view(e.table).empty()) out += "null";
    else append_json_meta(out, e.table);
    out += ",\"server_id\":";
    append_number(out, e.source.server_id);
    out += ",\"gtid\":";
    if (std::string_view(e.source.gtid).empty()) out += "null";
    else append_json_meta(out, e.source.gtid);
    out += ",\"file\":";
    append_json_meta(out, e.source.file);
    out += ",\"pos\":";
    append_number(out, e.source.offset);
    out += ",\"row\":";
    append_number(out, e.source.row);
    out += ",\"thread\":";
    if (e.source.thread) append_number(out, e.source.thread);
    else out += "null";
    out += ",\"query\":";
    if (!is_row_event(e.kind) || std::string_view(e.statement).empty()) out += "null";
    else append_json_meta(out, e.statement);
    out += '}';
}

/// Rebuilds the cached Connect schemas when the table (column list or names) changes.
template <class S>
void prepare_dbz_schemas(wire_state& st, const basic_event<S>& e, const debezium_options& o) {
    if (st.hold == e.columns && st.db == std::string_view(e.schema) && st.table == std::string_view(e.table)) return;
    st.hold = e.columns;
    st.db.assign(std::string_view(e.schema));
    st.table.assign(std::string_view(e.table));
    // schema names as the connector's default (schema.name.adjustment.mode=none) writes them
    std::string prefix = o.server_name;
    prefix += '.';
    prefix += st.db;
    prefix += '.';
    prefix += st.table;
    std::string scratch;
    st.value_schema.clear();
    st.key_schema.clear();
    static const column_list empty_list;
    const column_list& cols = e.columns ? *e.columns : empty_list;
    {
        json_sink v(st.value_schema, scratch);
        v += "{\"type\":\"struct\",\"fields\":[";
        for (std::size_t i = 0; i < cols.size(); ++i) {
            if (i) v += ',';
            append_connect_field(v, cols[i], o, cols[i].nullable && !cols[i].primary_key);
        }
        v += "],\"optional\":true,\"name\":";
        append_json_meta(v, prefix + ".Value");
    }
    {
        json_sink k(st.key_schema, scratch);
        k += "{\"type\":\"struct\",\"fields\":[";
        bool first = true;
        for (const auto& c : cols) {
            if (!c.primary_key) continue;
            if (!first) k += ',';
            first = false;
            append_connect_field(k, c, o, false);
        }
        k += "],\"optional\":false,\"name\":";
        append_json_meta(k, prefix + ".Key");
        k += '}';
    }
}

template <class S>
void append_dbz_envelope_schema(json_sink& out, const basic_event<S>& e, const wire_state& st,
                                const debezium_options& o) {
    out += "{\"type\":\"struct\",\"fields\":[";
    out += st.value_schema;
    out += ",\"field\":\"before\"},";
    out += st.value_schema;
    out += ",\"field\":\"after\"},";
    out += dbz_source_schema;
    out += dbz_connector(e) == "mariadb" ? "io.debezium.connector.mariadb.Source" : "io.debezium.connector.mysql.Source";
    out += "\",\"field\":\"source\"},";
    out += dbz_tx_block_schema;
    out += R"(,{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},)"
           R"({"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],)"
           R"("optional":false,"name":)";
    std::string name = o.server_name;
    name += '.';
    name += st.db;
    name += '.';
    name += st.table;
    name += ".Envelope";
    append_json_meta(out, name);
    out += ",\"version\":2}";
}

// java.sql.Types of a column (what Debezium's MySQL DDL parser assigns).
inline int jdbc_type(sql_type t) noexcept {
    switch (t) {
        case sql_type::tinyint: return 5;  // Debezium: SMALLINT for TINYINT
        case sql_type::smallint: return 5;
        case sql_type::mediumint:
        case sql_type::int_:
        case sql_type::year: return 4;
        case sql_type::bigint: return -5;
        case sql_type::decimal: return 3;
        case sql_type::float_: return 6;
        case sql_type::double_: return 8;
        case sql_type::bit: return -7;
        case sql_type::date: return 91;
        case sql_type::time: return 92;
        case sql_type::datetime: return 93;
        case sql_type::timestamp: return 2014;
        case sql_type::char_:
        case sql_type::enum_:
        case sql_type::set: return 1;
        case sql_type::binary: return -2;
        case sql_type::varbinary: return -3;
        case sql_type::tinyblob:
        case sql_type::blob:
        case sql_type::mediumblob:
        case sql_type::longblob: return 2004;
        case sql_type::json:
        case sql_type::geometry: return 1111;
        default: return 12;  // VARCHAR: text types, uuid, inet, unknown
    }
}

/// "CREATE", "ALTER" or "DROP" by the statement's first word ("ALTER" for anything else).
inline std::string_view ddl_change_type(std::string_view st) noexcept {
    std::size_t i = 0;
    while (i < st.size() && (st[i] == ' ' || st[i] == '\n' || st[i] == '\t' || st[i] == '\r' || st[i] == '(')) ++i;
    auto starts = [&](std::string_view w) {
        if (st.size() - i < w.size()) return false;
        for (std::size_t j = 0; j < w.size(); ++j)
            if ((st[i + j] | 0x20) != (w[j] | 0x20)) return false;
        return true;
    };
    if (starts("create")) return "CREATE";
    if (starts("drop")) return "DROP";
    return "ALTER";
}

template <class S>
void append_table_changes(json_sink& out, const basic_event<S>& e) {
    out += "\"tableChanges\":[";
    if (e.columns && !std::string_view(e.table).empty()) {
        out += "{\"type\":\"";
        out += ddl_change_type(e.statement);
        out += "\",\"id\":";
        std::string id = "\"";
        id += std::string_view(e.schema);
        id += "\".\"";
        id += std::string_view(e.table);
        id += '"';
        append_json_meta(out, id);
        out += ",\"table\":{\"defaultCharsetName\":null,\"primaryKeyColumnNames\":";
        append_primary_names(out, *e.columns);
        out += ",\"columns\":[";
        std::size_t pos = 0;
        for (const auto& c : *e.columns) {
            const column_type& t = c.type;
            if (pos) out += ',';
            ++pos;
            out += "{\"name\":";
            append_json_meta(out, c.name);
            out += ",\"jdbcType\":";
            append_number(out, jdbc_type(t.type));
            out += ",\"nativeType\":null,\"typeName\":\"";
            std::string tn(to_string(t.type));
            for (auto& ch : tn) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
            out += tn;
            out += "\",\"typeExpression\":\"";
            out += tn;
            out += "\",\"charsetName\":";
            if (t.charset.empty()) out += "null";
            else append_json_meta(out, t.charset);
            out += ",\"length\":";
            const std::uint32_t len = t.type == sql_type::decimal ? t.precision : t.length;
            if (len) append_number(out, len);
            else out += "null";
            out += ",\"scale\":";
            if (t.type == sql_type::decimal) append_number(out, unsigned{t.scale});
            else out += "null";
            out += ",\"position\":";
            append_number(out, pos);
            out += ",\"optional\":";
            out += c.nullable ? "true" : "false";
            out += ",\"autoIncremented\":false,\"generated\":false";
            if (!t.members.empty()) {
                out += ",\"enumValues\":[";
                for (std::size_t m = 0; m < t.members.size(); ++m) {
                    if (m) out += ',';
                    append_json_meta(out, t.members[m]);
                }
                out += ']';
            }
            out += '}';
        }
        out += "]}}";
    }
    out += ']';
}

/// Debezium message for one event (row change, transaction BEGIN/END, schema change).
template <class S>
void append_json_debezium_wire(json_sink& out, const basic_event<S>& e, const debezium_options& o, wire_state& st) {
    st.lossy[0].clear();
    st.lossy[1].clear();
    st.absent_before.clear();
    prepare_columns_cache(out, e.columns);
    static const column_list empty_list;
    const column_list& cols = e.columns ? *e.columns : empty_list;
    const bool exact_stmt = valid_utf8(e.statement);
    if (is_row_event(e.kind)) {
        // transaction tracking: rows per table since BEGIN. Encoding the same row again (a
        // retry) gives the same numbers; a transaction delivered again from its start restarts.
        const std::string_view txid = e.transaction.id;
        const std::uint32_t pos = e.transaction.position;
        std::uint64_t dc_order = 0;
        if (!txid.empty()) {
            if (st.tx_id != txid || (st.has_last && pos < st.last_pos)) {
                st.tx_id.assign(txid);
                st.tx_rows = 0;
                st.tx_tables.clear();
                st.has_last = false;
            }
            if (st.has_last && pos == st.last_pos) dc_order = st.last_dc;
            else {
                ++st.tx_rows;
                std::string& key = st.tmp;
                key.assign(std::string_view(e.schema));
                key += '.';
                key += std::string_view(e.table);
                for (auto& [name, n] : st.tx_tables)
                    if (name == key) dc_order = ++n;
                if (!dc_order) st.tx_tables.emplace_back(key, 1), dc_order = 1;
                st.has_last = true;
                st.last_pos = pos;
                st.last_dc = dc_order;
            }
        }

        if (o.schemas) {
            prepare_dbz_schemas(st, e, o);
            out += "{\"schema\":";
            append_dbz_envelope_schema(out, e, st, o);
            out += ",\"payload\":";
        }
        out += "{\"before\":";
        if (e.kind == event_kind::insert) out += "null";
        else append_dbz_image(out, e.before, cols, o, st.lossy[1]);
        out += ",\"after\":";
        if (e.kind == event_kind::delete_) out += "null";
        else append_dbz_image(out, e.after, cols, o, st.lossy[0]);
        out += ',';
        append_dbz_source(out, e, o);
        out += ",\"transaction\":";
        if (txid.empty()) out += "null";
        else {
            out += "{\"id\":";
            append_json_meta(out, txid);
            out += ",\"total_order\":";
            append_number(out, std::uint64_t{e.transaction.position} + 1);
            out += ",\"data_collection_order\":";
            append_number(out, dc_order);
            out += '}';
        }
        out += ",\"op\":\"";
        out += is_snapshot_read(e) ? 'r' : e.kind == event_kind::insert ? 'c' : e.kind == event_kind::update ? 'u' : 'd';
        out += '"';
        append_processing_ts(out, us_of(e.capture_time));
        if (o.extension) append_wire_ext(out, e, st, ext_flags{true, !exact_stmt, false});
        out += '}';
        if (o.schemas) out += '}';
        return;
    }
    if (e.kind == event_kind::ddl) {
        if (o.schemas) {
            out += R"({"schema":{"type":"struct","fields":[)";
            out += dbz_source_schema;
            out += "io.debezium.connector.mysql.Source\",\"field\":\"source\"},";
            out += R"({"type":"int64","optional":false,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},)"
                   R"({"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":true,"field":"databaseName"},)"
                   R"({"type":"string","optional":true,"field":"schemaName"},{"type":"string","optional":true,"field":"ddl"},)"
                   R"({"type":"array","items":{"type":"struct","optional":false,"name":"io.debezium.connector.schema.Change"},)"
                   R"("optional":false,"field":"tableChanges"}],"optional":false,)"
                   R"("name":"io.debezium.connector.mysql.SchemaChangeValue","version":1},"payload":)";
        }
        out += '{';
        append_dbz_source(out, e, o);
        append_processing_ts(out, us_of(e.capture_time));
        out += ",\"databaseName\":";
        append_json_meta(out, e.schema);
        out += ",\"schemaName\":null,\"ddl\":";
        append_json_meta(out, e.statement);
        out += ',';
        append_table_changes(out, e);
        if (o.extension) append_wire_ext(out, e, st, ext_flags{true, !exact_stmt, false});
        out += '}';
        if (o.schemas) out += '}';
        return;
    }
    // transaction boundary (the transaction topic's message)
    const std::string_view txid = e.transaction.id;
    if (o.schemas) {
        out += "{\"schema\":";
        out += dbz_tx_message_schema;
        out += ",\"payload\":";
    }
    out += "{\"status\":\"";
    out += e.kind == event_kind::begin ? "BEGIN" : e.kind == event_kind::commit ? "END" : "ROLLBACK";
    out += "\",\"id\":";
    append_json_meta(out, txid);
    out += ",\"ts_ms\":";
    append_number(out, floor_div(us_of(e.commit_time) ? us_of(e.commit_time) : us_of(e.capture_time), 1000));
    if (e.kind == event_kind::begin) {
        st.tx_id.assign(txid);
        st.tx_rows = 0;
        st.tx_tables.clear();
        st.has_last = false;
        out += ",\"event_count\":null,\"data_collections\":null";
    } else {
        const bool tracked = st.tx_id == txid;
        out += ",\"event_count\":";
        append_number(out, tracked ? st.tx_rows : std::uint64_t{e.transaction.position});
        out += ",\"data_collections\":[";
        if (tracked)
            for (std::size_t i = 0; i < st.tx_tables.size(); ++i) {
                if (i) out += ',';
                out += "{\"data_collection\":";
                append_json_meta(out, st.tx_tables[i].first);
                out += ",\"event_count\":";
                append_number(out, st.tx_tables[i].second);
                out += '}';
            }
        out += ']';  // the counts stay until the next BEGIN: encoding END again gives the same
    }
    if (o.extension) append_wire_ext(out, e, st, ext_flags{true, true, true});
    out += '}';
    if (o.schemas) out += '}';
}

/// The Kafka message key of an event: primary-key columns (row events; null without a
/// primary key), {"id"} (transaction messages), {"databaseName"} (schema changes).
template <class S>
void append_json_debezium_key(json_sink& out, const basic_event<S>& e, const debezium_options& o, wire_state& st) {
    if (is_row_event(e.kind)) {
        bool any = false;
        if (e.columns)
            for (const auto& c : *e.columns) any = any || c.primary_key;
        if (!any) {
            out += "null";
            return;
        }
        if (o.schemas) {
            prepare_dbz_schemas(st, e, o);
            out += "{\"schema\":";
            out += st.key_schema;
            out += ",\"payload\":";
        }
        const auto& img = e.kind == event_kind::delete_ ? e.before : e.after;
        out += '{';
        bool first = true;
        for (std::size_t i = 0; i < e.columns->size() && i < img.size(); ++i) {
            if (!(*e.columns)[i].primary_key) continue;
            if (!first) out += ',';
            first = false;
            append_json_meta(out, (*e.columns)[i].name);
            out += ':';
            append_dbz_value(out, img[i], (*e.columns)[i], o);
        }
        out += '}';
        if (o.schemas) out += '}';
        return;
    }
    const bool ddl = e.kind == event_kind::ddl;
    if (o.schemas) {
        out += ddl ? R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"databaseName"}],)"
                     R"("optional":false,"name":"io.debezium.connector.mysql.SchemaChangeKey","version":1},"payload":)"
                   : R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],)"
                     R"("optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1},"payload":)";
    }
    out += ddl ? "{\"databaseName\":" : "{\"id\":";
    append_json_meta(out, ddl ? std::string_view(e.schema) : std::string_view(e.transaction.id));
    out += '}';
    if (o.schemas) out += '}';
}

// --- Maxwell -----------------------------------------------------------------------------

/// True when decimal text is also a JSON number (RFC 8259 §6): no '+', no leading zero before
/// another digit ("05"), a digit on each side of '.'. valid_decimal text such as "05.5", "+1",
/// ".5" or "5." is not, and is written as a string instead.
inline bool json_number_grammar(std::string_view d) noexcept {
    if (!valid_decimal(d)) return false;
    std::size_t i = d[0] == '-' ? 1 : 0;
    if (i >= d.size() || d[i] < '0' || d[i] > '9') return false;  // '+', '.', or nothing after '-'
    if (d[i] == '0' && i + 1 < d.size() && d[i + 1] != '.') return false;
    const std::size_t dot = d.find('.');
    return dot == std::string_view::npos || dot + 1 < d.size();
}

/// One value as Maxwell writes it. Returns false when the form does not carry it exactly.
template <class S>
bool append_maxwell_value(json_sink& out, const basic_value<S>& v, const column& c) {
    const column_type& t = c.type;
    const value_kind k = v.kind();
    if (const int r = append_wire_common(out, v, t); r >= 0) return r == 1;
    // past append_wire_common: a text value, or a typed column's value of its own kind
    auto text_form = [&](auto&& fill) { append_quoted(out, fill); };
    switch (k) {
        case value_kind::int64: append_number(out, *std::get_if<std::int64_t>(&v)); return true;
        case value_kind::uint64: append_number(out, *std::get_if<std::uint64_t>(&v)); return true;
        case value_kind::float32: append_json_float(out, *std::get_if<float>(&v)); return true;
        case value_kind::float64: append_json_float(out, *std::get_if<double>(&v)); return true;
        case value_kind::decimal: {
            const std::string_view d = std::get_if<basic_decimal<S>>(&v)->digits;
            const bool number = json_number_grammar(d);
            if (number) out += d;
            else append_json_meta(out, d);
            return number;
        }
        case value_kind::text: return append_exact_string(out, std::get_if<basic_text<S>>(&v)->utf8);
        case value_kind::json: {
            const std::string_view s = std::get_if<basic_json_text<S>>(&v)->text;
            if (nlohmann::json::accept(s)) {
                out += s;
                // "null" reads back as SQL NULL; white space around the document is not kept
                const auto ws = [](char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; };
                return s != "null" && !ws(s.front()) && !ws(s.back());
            }
            append_json_meta(out, s);
            return false;
        }
        case value_kind::bytes: append_base64_string(out, std::get_if<basic_bytes<S>>(&v)->data); return true;
        case value_kind::date: text_form([&](std::string& s) { append_date(s, *std::get_if<date>(&v)); }); return true;
        case value_kind::time:
            text_form([&](std::string& s) { append_sql_time(s, *std::get_if<time>(&v), t.fsp); });
            return true;
        case value_kind::datetime:
            text_form([&](std::string& s) { append_sql_datetime(s, *std::get_if<datetime>(&v), t.fsp); });
            return true;
        case value_kind::timestamp: {
            const std::int64_t us = std::get_if<timestamp>(&v)->microseconds;
            if (!timestamp_in_range(us)) return append_number(out, us), false;
            text_form([&](std::string& s) {
                if (us == 0) s += "0000-00-00 00:00:00";
                else append_sql_datetime(s, datetime_of_us(us), t.fsp);
            });
            return true;
        }
        case value_kind::year: append_number(out, std::get_if<year>(&v)->value); return true;
        case value_kind::bit: {
            const bit& b = *std::get_if<bit>(&v);
            append_number(out, b.bits);
            return b.width == natural_bit_width(t);
        }
        case value_kind::enumeration: {
            const auto& e = *std::get_if<basic_enum_value<S>>(&v);
            return append_exact_string(out, e.name, enum_index_of(t, e.name) == e.index);
        }
        case value_kind::set: {
            const auto& s = *std::get_if<basic_set_value<S>>(&v);
            append_set_array<S>(out, s.names);
            return valid_utf8(s.names) && set_mask_of(t, s.names) == s.mask;
        }
        case value_kind::geometry:
            append_base64_string(out, std::get_if<basic_geometry<S>>(&v)->wkb);  // Maxwell: WKT; rowcast keeps WKB
            return false;
        case value_kind::absent:
        case value_kind::null: break;
    }
    out += "null";
    return false;
}

/// Maxwell's "type" of a DDL statement ("table-create", "database-drop", …).
inline std::string_view maxwell_ddl_type(std::string_view st, bool has_table) noexcept {
    const std::string_view verb = ddl_change_type(st);
    std::size_t i = 0;
    while (i < st.size() && (st[i] == ' ' || st[i] == '\n' || st[i] == '\t' || st[i] == '\r')) ++i;
    const std::size_t sp = st.find_first_of(" \t\n\r", i);
    std::size_t j = sp == std::string_view::npos ? st.size() : sp;
    while (j < st.size() && (st[j] == ' ' || st[j] == '\n' || st[j] == '\t' || st[j] == '\r')) ++j;
    auto word_is = [&](std::string_view w) {
        if (st.size() - j < w.size()) return false;
        for (std::size_t k = 0; k < w.size(); ++k)
            if ((st[j + k] | 0x20) != w[k]) return false;
        return true;
    };
    const bool db = word_is("database") || word_is("schema");
    if (db || !has_table) {
        if (verb == "CREATE") return "database-create";
        if (verb == "DROP") return "database-drop";
        return "database-alter";
    }
    if (verb == "CREATE") return "table-create";
    if (verb == "DROP") return "table-drop";
    return "table-alter";
}

template <class S>
void append_maxwell_def(json_sink& out, const basic_event<S>& e) {
    out += ",\"def\":{\"database\":";
    append_json_meta(out, e.schema);
    out += ",\"table\":";
    append_json_meta(out, e.table);
    out += ",\"columns\":[";
    for (std::size_t i = 0; i < e.columns->size(); ++i) {
        const column& c = (*e.columns)[i];
        if (i) out += ',';
        out += "{\"type\":\"";
        out += to_string(c.type.type);
        out += "\",\"name\":";
        append_json_meta(out, c.name);
        switch (c.type.type) {
            case sql_type::tinyint:
            case sql_type::smallint:
            case sql_type::mediumint:
            case sql_type::int_:
            case sql_type::bigint: out += c.type.is_unsigned ? ",\"signed\":false" : ",\"signed\":true"; break;
            default: break;
        }
        if (!c.type.charset.empty()) out += ",\"charset\":", append_json_meta(out, c.type.charset);
        if (c.type.fsp) out += ",\"column-length\":", append_number(out, unsigned{c.type.fsp});
        if (!c.type.members.empty()) {
            out += ",\"enum-values\":[";
            for (std::size_t m = 0; m < c.type.members.size(); ++m) {
                if (m) out += ',';
                append_json_meta(out, c.type.members[m]);
            }
            out += ']';
        }
        out += '}';
    }
    out += "],\"primary-key\":";
    append_primary_names(out, *e.columns);
    out += '}';
}

template <class S>
void append_json_maxwell(json_sink& out, const basic_event<S>& e, wire_state& st, bool extension) {
    st.lossy[0].clear();
    st.lossy[1].clear();
    st.absent_before.clear();
    prepare_columns_cache(out, e.columns);
    const bool exact_stmt = valid_utf8(e.statement);
    out += "{\"database\":";
    append_json_meta(out, e.schema);
    out += ",\"table\":";
    if (std::string_view(e.table).empty()) out += "null";
    else append_json_meta(out, e.table);
    out += ",\"type\":\"";
    const bool row = is_row_event(e.kind);
    if (row) out += to_string(e.kind);
    else if (e.kind == event_kind::ddl) out += maxwell_ddl_type(e.statement, !std::string_view(e.table).empty());
    else out += e.kind == event_kind::begin ? "transaction-begin" : e.kind == event_kind::commit ? "transaction-commit"
                                                                                                  : "transaction-rollback";
    out += "\",\"ts\":";
    const std::int64_t ct = us_of(e.commit_time);
    append_number(out, e.kind == event_kind::ddl ? floor_div(ct, 1000) : floor_div(ct, 1000000));
    if (e.transaction.xid) out += ",\"xid\":", append_number(out, e.transaction.xid);  // 0: unknown, left out
    if (row) {
        out += ",\"xoffset\":";
        append_number(out, e.transaction.position);
        if (e.transaction.last) out += ",\"commit\":true";
    }
    if (!std::string_view(e.source.file).empty()) {
        out += ",\"position\":";
        std::string& pos = st.tmp;
        pos.assign(std::string_view(e.source.file));
        pos += ':';
        pos += std::to_string(e.source.offset);
        append_json_meta(out, pos);
    }
    if (!std::string_view(e.source.gtid).empty()) out += ",\"gtid\":", append_json_meta(out, e.source.gtid);
    if (e.source.server_id) out += ",\"server_id\":", append_number(out, e.source.server_id);
    if (e.source.thread) out += ",\"thread_id\":", append_number(out, e.source.thread);
    if (row && e.columns) {
        const column_list& cols = *e.columns;
        const auto& img = e.kind == event_kind::delete_ ? e.before : e.after;
        out += ",\"primary_key\":[";
        bool first = true;
        for (std::size_t i = 0; i < cols.size() && i < img.size(); ++i) {
            if (!cols[i].primary_key) continue;
            if (!first) out += ',';
            first = false;
            append_maxwell_value(out, img[i], cols[i]);
        }
        out += "],\"primary_key_columns\":";
        append_primary_names(out, cols);
        // data: the row (after; before for a delete)
        out += ",\"data\":";
        append_wire_image(out, img, cols, e.kind == event_kind::delete_ ? st.lossy[1] : st.lossy[0],
                          [&](const basic_value<S>& v, const column& c) { return append_maxwell_value(out, v, c); });
        if (e.kind == event_kind::update) {
            out += ",\"old\":{";
            first = true;
            for (std::size_t i = 0; i < cols.size() && i < e.before.size() && i < e.after.size(); ++i) {
                if (e.before[i].is_absent() && !e.after[i].is_absent())
                    st.absent_before.push_back(static_cast<std::uint32_t>(i));
                if (e.before[i] == e.after[i] || e.before[i].is_absent()) continue;
                if (!first) out += ',';
                first = false;
                append_json_meta(out, cols[i].name);
                out += ':';
                if (!append_maxwell_value(out, e.before[i], cols[i])) st.lossy[1].push_back(static_cast<std::uint32_t>(i));
            }
            out += '}';
        }
    }
    if (e.kind == event_kind::ddl) {
        if (e.columns && !std::string_view(e.table).empty()) append_maxwell_def(out, e);
        out += ",\"sql\":";
        append_json_meta(out, e.statement);
    }
    if (extension) append_wire_ext(out, e, st, ext_flags{true, !exact_stmt || e.kind != event_kind::ddl, false});
    out += '}';
}

// --- smpl-repl strict ------------------------------------------------------------------------

/// One value as lib_mysqludf_json wrote it for smpl-repl: a string (null for NULL).
template <class S>
bool append_smpl_value(json_sink& out, const basic_value<S>& v, const column& c) {
    const column_type& t = c.type;
    const value_kind k = v.kind();
    if (const int r = append_wire_common(out, v, t); r >= 0) return r == 1;
    auto as_text = [&](auto&& fill) { append_quoted(out, fill); };
    switch (k) {
        case value_kind::int64: as_text([&](std::string& s) { append_number(s, *std::get_if<std::int64_t>(&v)); }); return true;
        case value_kind::uint64: as_text([&](std::string& s) { append_number(s, *std::get_if<std::uint64_t>(&v)); }); return true;
        case value_kind::float32:
        case value_kind::float64:
            as_text([&](std::string& s) {
                char b[48];
                auto r = k == value_kind::float32 ? std::to_chars(b, b + sizeof b, *std::get_if<float>(&v))
                                                  : std::to_chars(b, b + sizeof b, *std::get_if<double>(&v));
                const std::string_view sv(b, static_cast<std::size_t>(r.ptr - b));
                s += sv == "nan" || sv == "-nan" ? "NaN" : sv == "inf" ? "Infinity" : sv == "-inf" ? "-Infinity" : sv;
            });
            return !(k == value_kind::float32 ? std::signbit(*std::get_if<float>(&v)) && std::isnan(*std::get_if<float>(&v))
                                              : std::signbit(*std::get_if<double>(&v)) && std::isnan(*std::get_if<double>(&v)));
        case value_kind::decimal: return append_json_meta(out, std::get_if<basic_decimal<S>>(&v)->digits), true;
        case value_kind::text:
        case value_kind::json:
        case value_kind::bytes: {
            const std::string_view s = k == value_kind::text   ? std::string_view(std::get_if<basic_text<S>>(&v)->utf8)
                                       : k == value_kind::json ? std::string_view(std::get_if<basic_json_text<S>>(&v)->text)
                                                               : std::string_view(std::get_if<basic_bytes<S>>(&v)->data);
            return append_exact_string(out, s);
        }
        case value_kind::date: as_text([&](std::string& s) { append_date(s, *std::get_if<date>(&v)); }); return true;
        case value_kind::time: as_text([&](std::string& s) { append_sql_time(s, *std::get_if<time>(&v), t.fsp); }); return true;
        case value_kind::datetime:
            as_text([&](std::string& s) { append_sql_datetime(s, *std::get_if<datetime>(&v), t.fsp); });
            return true;
        case value_kind::timestamp: {
            const std::int64_t us = std::get_if<timestamp>(&v)->microseconds;
            if (!timestamp_in_range(us)) return append_json_value(out, v, t), false;
            as_text([&](std::string& s) {
                if (us == 0) s += "0000-00-00 00:00:00";
                else append_sql_datetime(s, datetime_of_us(us), t.fsp);
            });
            return true;
        }
        case value_kind::year: as_text([&](std::string& s) { append_number(s, std::get_if<year>(&v)->value); }); return true;
        case value_kind::bit: {
            const bit& b = *std::get_if<bit>(&v);
            as_text([&](std::string& s) { append_number(s, b.bits); });
            return b.width == natural_bit_width(t);
        }
        case value_kind::enumeration: {
            const auto& e = *std::get_if<basic_enum_value<S>>(&v);
            return append_exact_string(out, e.name, enum_index_of(t, e.name) == e.index);
        }
        case value_kind::set: {
            const auto& s = *std::get_if<basic_set_value<S>>(&v);
            return append_exact_string(out, s.names, set_mask_of(t, s.names) == s.mask);
        }
        case value_kind::geometry:
            append_base64_string(out, std::get_if<basic_geometry<S>>(&v)->wkb);
            return false;
        case value_kind::absent:
        case value_kind::null: break;
    }
    out += "null";
    return false;
}

template <class S>
void append_smpl_image(json_sink& out, const std::vector<basic_value<S>>& img, const column_list& cols,
                       std::vector<std::uint32_t>& lossy) {
    append_wire_image(out, img, cols, lossy,
                      [&](const basic_value<S>& v, const column& c) { return append_smpl_value(out, v, c); });
}

/// smpl-repl's message, strictly: every value a string, "YYYY-MM-DD HH:MM:SS" times,
/// "primary" always present (the primary key; the first column without one), "keys" the
/// primary key columns (every column without one).
template <class S>
void append_json_smpl_strict(json_sink& out, const basic_event<S>& e, wire_state& st, bool extension) {
    st.lossy[0].clear();
    st.lossy[1].clear();
    st.absent_before.clear();
    prepare_columns_cache(out, e.columns);
    append_smpl_head(out, e);
    if (is_row_event(e.kind) || (e.columns && e.columns->size())) {
        static const column_list empty_list;
        const column_list& cols = e.columns ? *e.columns : empty_list;
        std::size_t npk = 0;
        const column* pk = nullptr;
        for (const auto& c : cols)
            if (c.primary_key) ++npk, pk = pk ? pk : &c;
        out += ",\"primary\":";
        if (npk == 1) append_json_meta(out, pk->name);
        else if (npk > 1) append_primary_names(out, cols);
        else if (!cols.size()) out += "null";
        else append_json_meta(out, cols[0].name);
        out += ",\"keys\":";
        if (npk) append_primary_names(out, cols);
        else append_column_names(out, cols);
        out += ",\"columns\":";
        append_column_names(out, cols);
        if (e.kind == event_kind::insert || e.kind == event_kind::update) {
            out += ",\"new\":";
            append_smpl_image(out, e.after, cols, st.lossy[0]);
        }
        if (e.kind == event_kind::update || e.kind == event_kind::delete_) {
            out += ",\"old\":";
            append_smpl_image(out, e.before, cols, st.lossy[1]);
        }
    }
    if (extension) append_wire_ext(out, e, st, ext_flags{true, true, false}, "smpl-repl");
    out += '}';
}

}  // namespace detail
ROWCAST_NAMESPACE_END
