// Internal: the JSON encoder. Writes straight into the caller's std::string (no DOM).
// Layout and field names: docs/json.md; value forms: docs/value-mapping.md.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/event.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

ROWCAST_NAMESPACE_BEGIN
namespace detail {

/// Encoded column sections of the last column list (an encoder-side cache: a
/// column list is immutable, so its names/keys/types JSON can be reused).
struct json_columns_cache {
    columns_ptr hold;  // keeps the list alive, so its address identifies it
    std::string keys, names, types;
};

/// Output buffer of the encoder: writes through a raw pointer into the caller's
/// string, which is resized ahead in blocks and trimmed to the written size on
/// destruction. Interface modelled on the std::string members the encoder uses.
class json_sink {
public:
    json_sink(std::string& out, std::string& scratch, json_columns_cache* cache = nullptr)
        : s_(out), tmp_(scratch), cache_(cache) {
        open(1024);
    }
    ~json_sink() { close(); }
    json_sink(const json_sink&) = delete;
    json_sink& operator=(const json_sink&) = delete;

    [[gnu::always_inline]] void reserve_more(std::size_t k) {
        if (static_cast<std::size_t>(e_ - p_) < k) [[unlikely]]
            grow(k);
    }
    void append(const char* d, std::size_t n) {
        reserve_more(n);
        std::memcpy(p_, d, n);
        p_ += n;
    }
    json_sink& operator+=(char c) {
        reserve_more(1);
        *p_++ = c;
        return *this;
    }
    template <std::size_t N>
    json_sink& operator+=(const char (&lit)[N]) {
        append(lit, N - 1);
        return *this;
    }
    json_sink& operator+=(std::string_view v) {
        append(v.data(), v.size());
        return *this;
    }
    std::size_t size() const noexcept { return static_cast<std::size_t>(p_ - s_.data()); }
    void resize(std::size_t n) noexcept { p_ = s_.data() + n; }  // only to shrink back to a mark
    char* cursor(std::size_t k) {  // k bytes writable at the returned pointer; then advance()
        reserve_more(k);
        return p_;
    }
    void advance(std::size_t k) noexcept { p_ += k; }
    /// Runs f(std::string&) on a scratch string and copies what it appended (for text.hpp's helpers).
    template <class F>
    void via_string(F&& f) {
        tmp_.clear();
        f(tmp_);
        append(tmp_.data(), tmp_.size());
    }

private:
    void open(std::size_t k) {
        const std::size_t used = s_.size();
        const std::size_t spare = s_.capacity() - used;  // use what the caller's string already has
        s_.resize(used + (spare > k ? (spare < 65536 ? spare : 65536) : k));
        p_ = s_.data() + used;
        e_ = s_.data() + s_.size();
    }
    void close() { s_.resize(size()); }
    [[gnu::noinline]] void grow(std::size_t k) {
        const std::size_t used = size();
        const std::size_t want = used + k + 1024;
        s_.resize(want > 2 * s_.size() ? want : 2 * s_.size());
        p_ = s_.data() + used;
        e_ = s_.data() + s_.size();
    }
public:
    /// The cached sections of `cols`, or nullptr.
    const json_columns_cache* cached(const column_list& cols) const noexcept {
        return cache_ && cache_->hold.get() == &cols ? cache_ : nullptr;
    }
    json_columns_cache* cache() noexcept { return cache_; }
    std::string& scratch() noexcept { return tmp_; }

private:
    std::string& s_;
    std::string& tmp_;
    json_columns_cache* cache_;
    char* p_ = nullptr;
    char* e_ = nullptr;
};

template <class T>
inline void append_number(json_sink& out, T v) {
    char* p = out.cursor(24);
    auto r = std::to_chars(p, p + 24, v);
    out.advance(static_cast<std::size_t>(r.ptr - p));
}

// Flags (high bit of each byte) the bytes of w that are < 0x20, '"' or '\\' (or >= 0x80
// when with_high). The lowest flagged byte is exact (higher flags may be false positives).
template <bool with_high>
inline std::uint64_t json_special8(std::uint64_t w) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    const std::uint64_t lt = (w - ones * 0x20) & ~w;
    const std::uint64_t q = w ^ (ones * '"');
    const std::uint64_t b = w ^ (ones * '\\');
    std::uint64_t r = lt | ((q - ones) & ~q) | ((b - ones) & ~b);
    if constexpr (with_high) r |= w;
    return r & high;
}

/// Length of the leading run of [p, e) without bytes that need attention in a JSON
/// string: '"', '\\', control characters (< 0x20) and non-ASCII bytes (>= 0x80).
inline std::size_t json_plain_run(const char* p, const char* e) noexcept {
    const char* const b = p;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (e - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        // signed compare: bytes >= 0x80 are negative, so "< 0x20" also flags them
        const __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                       _mm_cmplt_epi8(v, space));
        if (const int bits = _mm_movemask_epi8(m)) return static_cast<std::size_t>(p - b) + std::countr_zero(static_cast<unsigned>(bits));
        p += 16;
    }
#endif
    while (e - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        const std::uint64_t f = json_special8<true>(w);
        if (f) {
            if constexpr (std::endian::native == std::endian::little)
                return static_cast<std::size_t>(p - b) + (std::countr_zero(f) >> 3);
            else
                break;
        }
        p += 8;
    }
    while (p < e) {
        const auto c = static_cast<unsigned char>(*p);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++p;
    }
    return static_cast<std::size_t>(p - b);
}

/// Appends `s` as a quoted JSON string (RFC 8259 escapes). Returns false if `s`
/// is not valid UTF-8; then `out` is restored to its previous size. With
/// `replace_invalid`, invalid bytes become U+FFFD instead and it never fails.
inline bool append_json_string(json_sink& out, std::string_view s, bool replace_invalid = false) {
    const std::size_t mark = out.size();
    out.reserve_more(s.size() + 2);
    out += '"';
    const char* p = s.data();
    const char* const e = p + s.size();
    for (;;) {
        const std::size_t run = json_plain_run(p, e);
        out.append(p, run);
        p += run;
        if (p == e) break;
        const auto c = static_cast<unsigned char>(*p);
        if (c >= 0x80) {
            const std::size_t n = utf8_seq(reinterpret_cast<const unsigned char*>(p), reinterpret_cast<const unsigned char*>(e));
            if (n) {
                out.append(p, n);
                p += n;
                continue;
            }
            if (!replace_invalid) {
                out.resize(mark);
                return false;
            }
            out += "\xEF\xBF\xBD";
            ++p;
            continue;
        }
        append_json_escape(out, c);
        ++p;
    }
    out += '"';
    return true;
}

/// A metadata string (names, ids): invalid UTF-8 is replaced by U+FFFD (documented as lossy).
inline void append_json_meta(json_sink& out, std::string_view s) { append_json_string(out, s, true); }

// Appends `"key":` (key is a literal without characters to escape).
inline void append_key(json_sink& out, std::string_view k) {
    out += '"';
    out += k;
    out += "\":";
}

template <class F>
inline void append_json_float(json_sink& out, F v) {
    if (std::isnan(v)) {
        out += "\"NaN\"";
        return;
    }
    if (std::isinf(v)) {
        out += v < 0 ? "\"-Infinity\"" : "\"Infinity\"";
        return;
    }
    char buf[48];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    const std::size_t len = static_cast<std::size_t>(r.ptr - buf);
    out.append(buf, len);
    // Keep it a JSON float for generic parsers ("-0" would come back as integer 0).
    if (std::memchr(buf, '.', len) == nullptr && std::memchr(buf, 'e', len) == nullptr) out += ".0";
}

inline void append_base64_string(json_sink& out, std::string_view data) {
    out += '"';
    out.via_string([&](std::string& t) { append_base64(t, data); });
    out += '"';
}

/// Microseconds to "YYYY-MM-DD HH:MM:SS" (UTC, seconds truncated toward the past), smpl-repl's form.
inline void append_sql_seconds(json_sink& out, std::int64_t us) {
    std::int64_t secs = us / 1000000;
    if (us % 1000000 < 0) --secs;
    std::int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) sod += 86400, --days;
    const civil c = civil_from_days(days);
    const date d{static_cast<std::uint16_t>(c.y), static_cast<std::uint8_t>(c.m), static_cast<std::uint8_t>(c.d)};
    out.via_string([&](std::string& t) { append_date(t, d); });
    char b[9];
    b[0] = ' ';
    put_digits(b + 1, static_cast<std::uint32_t>(sod / 3600), 2);
    b[3] = ':';
    put_digits(b + 4, static_cast<std::uint32_t>(sod / 60 % 60), 2);
    b[6] = ':';
    put_digits(b + 7, static_cast<std::uint32_t>(sod % 60), 2);
    out.append(b, 9);
}

inline bool timestamp_in_range(std::int64_t us) noexcept { return us >= min_timestamp_us && us <= max_timestamp_us; }

/// A time as "…Z" if representable, else integer microseconds.
inline void append_time_field(json_sink& out, std::int64_t us) {
    if (timestamp_in_range(us)) {
        out += '"';
        out.via_string([&](std::string& t) { append_timestamp(t, timestamp{us}); });
        out += '"';
    } else {
        append_number(out, us);
    }
}

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

// --- value rules shared by encoder and decoder -----------------------------------------

/// BIT width a natural number form implies for this column.
inline std::uint8_t natural_bit_width(const column_type& t) noexcept {
    return static_cast<std::uint8_t>(t.length == 0 ? 1 : (t.length > 64 ? 64 : t.length));
}

/// 1-based index of `name` among the column's members, 0 if not a member.
inline std::uint16_t enum_index_of(const column_type& t, std::string_view name) noexcept {
    for (std::size_t i = 0; i < t.members.size() && i < 65535; ++i)
        if (t.members[i] == name) return static_cast<std::uint16_t>(i + 1);
    return 0;
}

/// Mask of one SET member name (0 if not a member or beyond bit 63).
inline std::uint64_t set_bit_of(const column_type& t, std::string_view name) noexcept {
    for (std::size_t i = 0; i < t.members.size() && i < 64; ++i)
        if (t.members[i] == name) return std::uint64_t{1} << i;
    return 0;
}


inline std::uint64_t set_mask_of(const column_type& t, std::string_view names) {
    std::uint64_t m = 0;
    for_each_set_name(names, [&](std::string_view n) { m |= set_bit_of(t, n); });
    return m;
}

inline void append_type_desc(std::string& out, const column_type& t) {
    out += to_string(t.type);
    if (t.is_unsigned) out += " unsigned";
}

// --- values --------------------------------------------------------------------------

template <class S>
inline void append_set_array(json_sink& out, std::string_view names) {
    out += '[';
    bool first = true;
    for_each_set_name(names, [&](std::string_view n) {
        if (!first) out += ',';
        first = false;
        append_json_meta(out, n);
    });
    out += ']';
}

inline void append_tag(json_sink& out, std::string_view kind, bool& tagged) {
    tagged = true;
    out += "{\"$type\":\"";
    out += kind;
    out += '"';
}

/// Appends one non-absent value for a column of type `t` (natural form when it round-trips, else tagged).
template <class S>
void append_json_value(json_sink& out, const basic_value<S>& v, const column_type& t) {
    const value_kind nk = t.natural_kind();
    const value_kind k = v.kind();
    const bool nat = k == nk;
    bool tag = false;
    switch (k) {
        case value_kind::absent:
        case value_kind::null: out += "null"; return;
        case value_kind::int64:
        case value_kind::uint64:
            if (!nat) append_tag(out, to_string(k), tag), out += ",\"value\":";
            if (k == value_kind::int64) append_number(out, *std::get_if<std::int64_t>(&v));
            else append_number(out, *std::get_if<std::uint64_t>(&v));
            break;
        case value_kind::float32:
        case value_kind::float64:
            if (!nat) append_tag(out, to_string(k), tag), out += ",\"value\":";
            if (k == value_kind::float32) append_json_float(out, *std::get_if<float>(&v));
            else append_json_float(out, *std::get_if<double>(&v));
            break;
        case value_kind::decimal: {
            const auto& d = std::get_if<basic_decimal<S>>(&v)->digits;
            if (!nat) append_tag(out, "decimal", tag), out += ",\"value\":";
            append_json_meta(out, d);
            break;
        }
        case value_kind::text:
        case value_kind::json: {
            const std::string_view s = k == value_kind::text ? std::string_view(std::get_if<basic_text<S>>(&v)->utf8)
                                                             : std::string_view(std::get_if<basic_json_text<S>>(&v)->text);
            if (nat && append_json_string(out, s)) return;
            append_tag(out, to_string(k), tag);
            out += ",\"value\":";
            if (!append_json_string(out, s)) {
                out.resize(out.size() - 8);  // drop "\"value\":"
                out += "\"base64\":";
                append_base64_string(out, s);
            }
            break;
        }
        case value_kind::bytes:
            out += nat ? "{\"base64\":" : "{\"$type\":\"bytes\",\"base64\":";
            append_base64_string(out, std::get_if<basic_bytes<S>>(&v)->data);
            out += '}';
            return;
        case value_kind::date:
        case value_kind::time:
        case value_kind::datetime:
        case value_kind::timestamp: {
            if (k == value_kind::timestamp && !timestamp_in_range(std::get_if<timestamp>(&v)->microseconds)) {
                append_tag(out, "timestamp", tag);
                out += ",\"value\":";
                append_number(out, std::get_if<timestamp>(&v)->microseconds);
                break;
            }
            if (!nat) append_tag(out, to_string(k), tag), out += ",\"value\":";
            out += '"';
            out.via_string([&](std::string& t) {
                if (k == value_kind::date) append_date(t, *std::get_if<date>(&v));
                else if (k == value_kind::time) append_time(t, *std::get_if<time>(&v));
                else if (k == value_kind::datetime) append_datetime(t, *std::get_if<datetime>(&v));
                else append_timestamp(t, *std::get_if<timestamp>(&v));
            });
            out += '"';
            break;
        }
        case value_kind::year:
            if (!nat) append_tag(out, "year", tag), out += ",\"value\":";
            append_number(out, std::get_if<year>(&v)->value);
            break;
        case value_kind::bit: {
            const bit& b = *std::get_if<bit>(&v);
            if (nat && b.width == natural_bit_width(t)) {
                append_number(out, b.bits);
                return;
            }
            append_tag(out, "bit", tag);
            out += ",\"value\":";
            append_number(out, b.bits);
            out += ",\"width\":";
            append_number(out, unsigned{b.width});
            break;
        }
        case value_kind::enumeration: {
            const auto& e = *std::get_if<basic_enum_value<S>>(&v);
            if (nat && enum_index_of(t, e.name) == e.index && append_json_string(out, e.name)) return;
            append_tag(out, "enum", tag);
            out += ",\"value\":";
            append_json_meta(out, e.name);
            out += ",\"index\":";
            append_number(out, e.index);
            break;
        }
        case value_kind::set: {
            const auto& s = *std::get_if<basic_set_value<S>>(&v);
            if (nat && set_mask_of(t, s.names) == s.mask) {
                append_set_array<S>(out, s.names);
                return;
            }
            append_tag(out, "set", tag);
            out += ",\"value\":";
            append_set_array<S>(out, s.names);
            out += ",\"mask\":";
            append_number(out, s.mask);
            break;
        }
        case value_kind::geometry: {
            const auto& g = *std::get_if<basic_geometry<S>>(&v);
            out += nat ? "{\"srid\":" : "{\"$type\":\"geometry\",\"srid\":";
            append_number(out, g.srid);
            out += ",\"wkb\":";
            append_base64_string(out, g.wkb);
            out += '}';
            return;
        }
    }
    if (tag) out += '}';
}

// --- envelopes -----------------------------------------------------------------------

inline std::int64_t us_of(time_point t) noexcept { return t.time_since_epoch().count(); }

/// An image as {"name": value…} without absent columns: write(value, column, index) appends each value.
template <class S, class W>
void append_image_with(json_sink& out, const std::vector<basic_value<S>>& img, const column_list& cols, W&& write) {
    out += '{';
    bool first = true;
    const std::size_t n = img.size() < cols.size() ? img.size() : cols.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (img[i].is_absent()) continue;
        if (!first) out += ',';
        first = false;
        append_json_meta(out, cols[i].name);
        out += ':';
        write(img[i], cols[i], i);
    }
    out += '}';
}

template <class S>
void append_json_image(json_sink& out, const std::vector<basic_value<S>>& img, const column_list& cols) {
    append_image_with(out, img, cols,
                      [&](const basic_value<S>& v, const column& c, std::size_t) { append_json_value(out, v, c.type); });
}

inline void append_primary_names(json_sink& out, const column_list& cols) {
    if (auto* c = out.cached(cols)) {
        out += c->keys;
        return;
    }
    out += '[';
    bool first = true;
    for (const auto& c : cols) {
        if (!c.primary_key) continue;
        if (!first) out += ',';
        first = false;
        append_json_meta(out, c.name);
    }
    out += ']';
}

inline void append_column_names(json_sink& out, const column_list& cols) {
    if (auto* c = out.cached(cols)) {
        out += c->names;
        return;
    }
    out += '[';
    for (std::size_t i = 0; i < cols.size(); ++i) {
        if (i) out += ',';
        append_json_meta(out, cols[i].name);
    }
    out += ']';
}

inline void append_column_types(json_sink& out, const column_list& cols) {
    if (auto* c = out.cached(cols)) {
        out += c->types;
        return;
    }
    out += '[';
    for (std::size_t i = 0; i < cols.size(); ++i) {
        const column& c = cols[i];
        const column_type& t = c.type;
        if (i) out += ',';
        out += "{\"type\":\"";
        out += to_string(t.type);
        out += '"';
        if (t.is_unsigned) out += ",\"unsigned\":true";
        if (t.length) out += ",\"length\":", append_number(out, t.length);
        if (t.precision) out += ",\"precision\":", append_number(out, unsigned{t.precision});
        if (t.scale) out += ",\"scale\":", append_number(out, unsigned{t.scale});
        if (t.fsp) out += ",\"fsp\":", append_number(out, unsigned{t.fsp});
        if (!t.charset.empty()) out += ",\"charset\":", append_json_meta(out, t.charset);
        if (!t.members.empty()) {
            out += ",\"members\":[";
            for (std::size_t m = 0; m < t.members.size(); ++m) {
                if (m) out += ',';
                append_json_meta(out, t.members[m]);
            }
            out += ']';
        }
        if (!t.geometry_type.empty()) out += ",\"geometry_type\":", append_json_meta(out, t.geometry_type);
        if (!c.nullable) out += ",\"nullable\":false";
        out += '}';
    }
    out += ']';
}

/// Makes the sink's cache hold `cols`' sections (rebuilt when the list changes).
inline void prepare_columns_cache(json_sink& out, const columns_ptr& cols) {
    json_columns_cache* c = out.cache();
    if (!c || !cols || c->hold == cols) return;
    c->hold.reset();
    std::string scratch;
    c->keys.clear();
    c->names.clear();
    c->types.clear();
    {
        json_sink k(c->keys, scratch);
        append_primary_names(k, *cols);
    }
    {
        json_sink n(c->names, scratch);
        append_column_names(n, *cols);
    }
    {
        json_sink t(c->types, scratch);
        append_column_types(t, *cols);
    }
    c->hold = cols;
}

struct ext_flags {
    bool columns = false;    // also "columns" and "keys" (Debezium)
    bool statement = true;   // "statement" (not when the envelope has a place for it)
    bool names = false;      // "schema"/"table" (Debezium transaction messages)
};

template <class S>
void append_statement_field(json_sink& out, std::string_view st) {
    out += ",\"statement\":";
    if (!append_json_string(out, st)) {
        out += "{\"base64\":";
        append_base64_string(out, st);
        out += '}';
    }
}

/// The "rowcast" extension object (without a leading comma).
template <class S>
void append_json_ext(json_sink& out, const basic_event<S>& e, ext_flags f) {
    out += "\"rowcast\":{\"version\":1";
    if (f.names) {
        if (!std::string_view(e.schema).empty()) out += ",\"schema\":", append_json_meta(out, e.schema);
        if (!std::string_view(e.table).empty()) out += ",\"table\":", append_json_meta(out, e.table);
    }
    if (e.sequence) out += ",\"sequence\":", append_number(out, e.sequence);
    const auto& tx = e.transaction;
    if (!std::string_view(tx.id).empty() || tx.position || tx.last || tx.xid) {
        out += ",\"transaction\":{";
        bool first = true;
        auto sep = [&] {
            if (!first) out += ',';
            first = false;
        };
        if (!std::string_view(tx.id).empty()) sep(), append_key(out, "id"), append_json_meta(out, tx.id);
        if (tx.position) sep(), append_key(out, "position"), append_number(out, tx.position);
        if (tx.last) sep(), out += "\"last\":true";
        if (tx.xid) sep(), append_key(out, "xid"), append_number(out, tx.xid);
        out += '}';
    }
    const auto& src = e.source;
    if (!std::string_view(src.file).empty() || src.offset || !std::string_view(src.gtid).empty() || src.server_id ||
        src.row || src.thread) {
        out += ",\"source\":{";
        bool first = true;
        auto sep = [&] {
            if (!first) out += ',';
            first = false;
        };
        if (!std::string_view(src.file).empty()) sep(), append_key(out, "file"), append_json_meta(out, src.file);
        if (src.offset) sep(), append_key(out, "offset"), append_number(out, src.offset);
        if (!std::string_view(src.gtid).empty()) sep(), append_key(out, "gtid"), append_json_meta(out, src.gtid);
        if (src.server_id) sep(), append_key(out, "server_id"), append_number(out, src.server_id);
        if (src.row) sep(), append_key(out, "row"), append_number(out, src.row);
        if (src.thread) sep(), append_key(out, "thread"), append_number(out, src.thread);
        out += '}';
    }
    if (us_of(e.commit_time)) out += ",\"commit_time\":", append_time_field(out, us_of(e.commit_time));
    if (us_of(e.capture_time)) out += ",\"capture_time\":", append_time_field(out, us_of(e.capture_time));
    if (f.statement && !std::string_view(e.statement).empty()) append_statement_field<S>(out, e.statement);
    if (e.columns && e.columns->size()) {
        if (f.columns) {
            out += ",\"columns\":";
            append_column_names(out, *e.columns);
            out += ",\"keys\":";
            append_primary_names(out, *e.columns);
        }
        out += ",\"types\":";
        append_column_types(out, *e.columns);
    }
    out += '}';
}

/// smpl-repl's first fields: "{" "schema", "table", "timestamp" (when known), "operation".
template <class S>
void append_smpl_head(json_sink& out, const basic_event<S>& e) {
    out += "{\"schema\":";
    append_json_meta(out, e.schema);
    out += ",\"table\":";
    append_json_meta(out, e.table);
    const std::int64_t ts = us_of(e.commit_time) ? us_of(e.commit_time) : us_of(e.capture_time);
    if (ts && timestamp_in_range(ts)) {
        out += ",\"timestamp\":\"";
        append_sql_seconds(out, ts);
        out += '"';
    }
    out += ",\"operation\":\"";
    out += to_string(e.kind);
    out += '"';
}

/// Default envelope (smpl-repl compatible + "rowcast").
template <class S>
void append_json_rowcast(json_sink& out, const basic_event<S>& e) {
    prepare_columns_cache(out, e.columns);
    append_smpl_head(out, e);
    const bool row = is_row_event(e.kind);
    const bool has_cols = e.columns && e.columns->size();
    if (row || has_cols) {
        static const column_list empty_list;
        const column_list& cols = has_cols ? *e.columns : empty_list;
        std::size_t npk = 0;
        const column* pk = nullptr;
        for (const auto& c : cols)
            if (c.primary_key) ++npk, pk = pk ? pk : &c;
        if (npk == 1) out += ",\"primary\":", append_json_meta(out, pk->name);
        else if (npk > 1) out += ",\"primary\":", append_primary_names(out, cols);
        out += ",\"keys\":";
        append_primary_names(out, cols);
        out += ",\"columns\":";
        append_column_names(out, cols);
        if (e.kind == event_kind::insert || e.kind == event_kind::update) {
            out += ",\"new\":";
            append_json_image(out, e.after, cols);
        }
        if (e.kind == event_kind::update || e.kind == event_kind::delete_) {
            out += ",\"old\":";
            append_json_image(out, e.before, cols);
        }
    }
    out += ',';
    append_json_ext(out, e, ext_flags{});
    out += '}';
}

}  // namespace detail
ROWCAST_NAMESPACE_END
