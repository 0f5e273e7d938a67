// Test support: deterministic random events covering every value type and its edges,
// for the codecs' round-trip property tests and the fuzzers' seed corpora.
#pragma once

#include <rowcast/event.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace rowcast::test {

struct random_options {
    bool allow_huge = false;       // now and then a 1 MB value
    bool allow_mismatch = true;    // values whose kind differs from the column's natural kind
    std::size_t max_columns = 12;
};

class event_generator {
public:
    explicit event_generator(std::uint64_t seed, random_options o = {}) : rng_(seed), opt_(o) {}

    rowcast::event next() {
        rowcast::event e;
        const int k = pick(0, 99);
        e.kind = k < 25 ? event_kind::insert
                 : k < 55 ? event_kind::update
                 : k < 75 ? event_kind::delete_
                 : k < 82 ? event_kind::begin
                 : k < 89 ? event_kind::commit
                 : k < 93 ? event_kind::rollback
                          : event_kind::ddl;
        e.schema = identifier();
        if (is_row_event(e.kind)) {
            e.table = identifier();
            auto cols = columns();
            e.columns = make_columns(cols);
            const bool minimal = chance(10);
            if (e.kind != event_kind::insert) e.before = image(cols, minimal);
            if (e.kind != event_kind::delete_) e.after = image(cols, minimal);
            if (chance(10)) e.statement = "INSERT INTO t VALUES (" + std::to_string(pick(0, 1000)) + ")";
        } else if (e.kind == event_kind::ddl) {
            e.statement = "ALTER TABLE `" + identifier() + "` ADD COLUMN c" + std::to_string(pick(0, 99)) + " INT";
            if (chance(50)) e.table = identifier();
        }
        e.sequence = chance(10) ? std::numeric_limits<std::uint64_t>::max() : rng_();
        if (chance(80)) {
            e.transaction.id = chance(50) ? "0-" + std::to_string(pick(1, 9)) + "-" + std::to_string(rng_() % 100000)
                                          : "3e11fa47-71ca-11e1-9e33-c80aa9429562:" + std::to_string(rng_() % 100000);
            e.transaction.position = static_cast<std::uint32_t>(pick(0, 1000));
            e.transaction.last = chance(30);
            // half of them with an XID (derived, not drawn: the generator's sequence stays as it was)
            if (e.transaction.position % 2) e.transaction.xid = e.sequence | 1;
        }
        if (chance(80)) {
            e.source.file = chance(80) ? "binlog.00000" + std::to_string(pick(1, 9)) : "spool-0001.evt";
            e.source.offset = rng_() % (1ULL << 40);
            if (chance(50)) e.source.gtid = e.transaction.id;
            e.source.server_id = static_cast<std::uint32_t>(rng_());
            if (is_row_event(e.kind) && chance(50)) e.source.row = static_cast<std::uint32_t>(chance(10) ? rng_() : pick(0, 9));
            if (chance(50)) e.source.thread = chance(10) ? std::numeric_limits<std::uint64_t>::max() : rng_() % 100000;
        }
        if (chance(80)) e.commit_time = time_point{std::chrono::microseconds{timestamp_us()}};
        if (chance(80)) e.capture_time = time_point{std::chrono::microseconds{timestamp_us()}};
        return e;
    }

    std::int64_t pick(std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_); }
    bool chance(int percent) { return pick(0, 99) < percent; }

    std::string identifier() {
        static const char* names[] = {"id", "hosts", "mac", "ip", "hostname", "select", "weird name", "ünïcode",
                                      "x", "order", "a`b", "t_1", "col'quote", "日本"};
        return names[pick(0, 13)] + std::string(chance(50) ? "" : std::to_string(pick(0, 99)));
    }

    std::vector<column> columns() {
        std::vector<column> cols;
        const auto n = static_cast<std::size_t>(pick(1, static_cast<std::int64_t>(opt_.max_columns)));
        for (std::size_t i = 0; i < n; ++i) {
            column c;
            c.name = identifier() + "_" + std::to_string(i);  // unique within the table
            c.type.type = static_cast<sql_type>(pick(0, static_cast<std::int64_t>(sql_type_count) - 1));
            auto& t = c.type;
            switch (t.type) {
                case sql_type::tinyint: case sql_type::smallint: case sql_type::mediumint: case sql_type::int_:
                case sql_type::bigint: t.is_unsigned = chance(40); break;
                case sql_type::decimal: t.precision = static_cast<std::uint8_t>(pick(1, 65));
                    t.scale = static_cast<std::uint8_t>(pick(0, std::min<std::int64_t>(30, t.precision))); break;
                case sql_type::float_: case sql_type::double_: t.is_unsigned = chance(10); break;
                case sql_type::bit: t.length = static_cast<std::uint32_t>(pick(1, 64)); break;
                case sql_type::time: case sql_type::datetime: case sql_type::timestamp:
                    t.fsp = static_cast<std::uint8_t>(pick(0, 6)); break;
                case sql_type::char_: case sql_type::varchar: t.length = static_cast<std::uint32_t>(pick(1, 65535));
                    t.charset = chance(50) ? "utf8mb4" : "latin1"; break;
                case sql_type::binary: case sql_type::varbinary: t.length = static_cast<std::uint32_t>(pick(1, 255)); break;
                case sql_type::tinytext: case sql_type::text: case sql_type::mediumtext: case sql_type::longtext:
                    t.charset = "utf8mb4"; break;
                case sql_type::enum_: case sql_type::set: {
                    const int m = static_cast<int>(pick(0, t.type == sql_type::set ? 64 : 8));
                    for (int j = 0; j < m; ++j) t.members.push_back("m" + std::to_string(j) + (chance(10) ? " x" : ""));
                    break;
                }
                case sql_type::geometry: if (chance(50)) t.geometry_type = "point"; break;
                default: break;
            }
            c.primary_key = i == 0 || chance(10);
            c.nullable = !c.primary_key && chance(70);
            cols.push_back(std::move(c));
        }
        return cols;
    }

    std::vector<value> image(const std::vector<column>& cols, bool minimal) {
        std::vector<value> v;
        for (const auto& c : cols) {
            if (minimal && chance(30)) v.emplace_back(absent{});
            else if (chance(8)) v.emplace_back(null_value{});
            else if (opt_.allow_mismatch && chance(5)) v.push_back(any_value());
            else v.push_back(value_for(c.type));
        }
        return v;
    }

    value any_value() {
        column_type t;
        t.type = static_cast<sql_type>(pick(0, static_cast<std::int64_t>(sql_type_count) - 1));
        t.is_unsigned = chance(50);
        t.length = static_cast<std::uint32_t>(pick(1, 64));
        return value_for(t);
    }

    value value_for(const column_type& t) {
        switch (t.natural_kind()) {
            case value_kind::int64: {
                const int e = static_cast<int>(pick(0, 9));
                if (e == 0) return std::numeric_limits<std::int64_t>::min();
                if (e == 1) return std::numeric_limits<std::int64_t>::max();
                if (e == 2) return std::int64_t{0};
                return static_cast<std::int64_t>(rng_()) >> pick(0, 62);
            }
            case value_kind::uint64: {
                const int e = static_cast<int>(pick(0, 9));
                if (e == 0) return std::numeric_limits<std::uint64_t>::max();
                if (e == 1) return std::uint64_t{0};
                return rng_() >> pick(0, 63);
            }
            case value_kind::float32: return static_cast<float>(special_double());
            case value_kind::float64: return special_double();
            case value_kind::decimal: return decimal{decimal_text(t)};
            case value_kind::text: return text{string_value(true)};
            case value_kind::bytes: return bytes{string_value(false)};
            case value_kind::date: return random_date();
            case value_kind::time: {
                const std::int64_t lim = 838LL * 3600 * 1000000 + 59 * 60 * 1000000LL + 59 * 1000000LL;
                const int e = static_cast<int>(pick(0, 5));
                if (e == 0) return rowcast::time{-lim};
                if (e == 1) return rowcast::time{lim};
                return rowcast::time{pick(-lim, lim)};
            }
            case value_kind::datetime: {
                datetime d;
                d.day = random_date();
                d.hour = static_cast<std::uint8_t>(pick(0, 23));
                d.minute = static_cast<std::uint8_t>(pick(0, 59));
                d.second = static_cast<std::uint8_t>(pick(0, 59));
                d.microsecond = static_cast<std::uint32_t>(pick(0, 999999));
                return d;
            }
            case value_kind::timestamp: return timestamp{chance(10) ? 0 : timestamp_us()};
            case value_kind::year: return year{static_cast<std::uint16_t>(chance(10) ? 0 : pick(1901, 2155))};
            case value_kind::bit: {
                const auto w = static_cast<std::uint8_t>(t.length ? t.length : 1);
                const std::uint64_t mask = w == 64 ? ~0ULL : ((1ULL << w) - 1);
                return bit{rng_() & mask, w};
            }
            case value_kind::enumeration: {
                if (t.members.empty() || chance(5)) return enum_value{chance(50) ? "" : "zz", 0};
                const auto i = static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(t.members.size()) - 1));
                return enum_value{t.members[i], static_cast<std::uint16_t>(i + 1)};
            }
            case value_kind::set: {
                set_value s;
                for (std::size_t i = 0; i < t.members.size(); ++i)
                    if (chance(30)) {
                        if (!s.names.empty()) s.names += ',';
                        s.names += t.members[i];
                        s.mask |= 1ULL << i;
                    }
                return s;
            }
            case value_kind::json: {
                static const char* docs[] = {"{}", "[]", "null", "{\"a\": 1, \"b\": [true, false, null]}",
                                             "\"str\\u0000ing\"", "{\"k\": \"ü日本\", \"n\": -1.5e300}", "[1, 2, 3]"};
                return json_text{docs[pick(0, 6)]};
            }
            case value_kind::geometry: {
                std::string wkb = {'\x01', '\x01', '\0', '\0', '\0'};
                for (int i = 0; i < 16; ++i) wkb += static_cast<char>(pick(0, 255));
                return geometry{static_cast<std::uint32_t>(chance(50) ? 0 : 4326), wkb};
            }
            default: return null_value{};
        }
    }

    double special_double() {
        const int e = static_cast<int>(pick(0, 11));
        switch (e) {
            case 0: return std::numeric_limits<double>::quiet_NaN();
            case 1: return std::numeric_limits<double>::infinity();
            case 2: return -std::numeric_limits<double>::infinity();
            case 3: return -0.0;
            case 4: return std::numeric_limits<double>::denorm_min();
            case 5: return std::numeric_limits<double>::max();
            case 6: return std::numeric_limits<float>::max();
            default: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_) * std::pow(10.0, pick(-30, 30));
        }
    }

    std::string decimal_text(const column_type& t) {
        const int p = t.precision ? t.precision : 10, s = t.scale;
        std::string d;
        if (chance(30)) d += '-';
        const int int_digits = static_cast<int>(pick(1, std::max(1, p - s)));
        for (int i = 0; i < int_digits; ++i) d += static_cast<char>('0' + pick(i == 0 && int_digits > 1 ? 1 : 0, 9));
        if (s > 0) {
            d += '.';
            for (int i = 0; i < s; ++i) d += static_cast<char>('0' + pick(0, 9));
        }
        return d;
    }

    std::string string_value(bool is_text) {
        const int e = static_cast<int>(pick(0, 19));
        if (e == 0) return "";
        if (e == 1 && opt_.allow_huge) return std::string(1 << 20, static_cast<char>('a' + pick(0, 25)));
        if (e == 2) return std::string("nul\0inside", 10);
        if (e == 3) return "4-byte \xF0\x9F\x98\x80 emoji and \xE6\x97\xA5\xE6\x9C\xAC";
        if (e == 4) return "invalid \xC3\x28 utf8 \xFF";
        if (e == 5) return "quotes \" ' \\ and\nnewline\ttab \x01\x1f control";
        if (e == 6) return "- yaml: [looks, like] {a: b} # comment";
        if (e == 7) return "null";
        if (e == 8) return "  spaces around  ";
        if (e == 9 && is_text) return every_control_character();
        std::string s;
        const auto n = pick(0, is_text ? 40 : 64);
        const bool classes = is_text && e >= 16;  // a fifth of the random texts mix every code-point class
        for (std::int64_t i = 0; i < n; ++i) {
            if (classes) s += code_point_of_any_class();
            else s += static_cast<char>(is_text ? pick(32, 126) : pick(0, 255));
        }
        return s;
    }

    /// Every C0 control character (U+0000-U+001F) and DEL, in random order, between letters.
    std::string every_control_character() {
        std::string s;
        std::vector<char> cs;
        for (int c = 0; c < 0x20; ++c) cs.push_back(static_cast<char>(c));
        cs.push_back('\x7f');
        std::shuffle(cs.begin(), cs.end(), rng_);
        for (char c : cs) (s += 'a') += c;
        return s;
    }

    /// One character (UTF-8) of a random code-point class: C0 controls, DEL, quotes and backslash,
    /// C1 controls, NBSP, U+2028/2029 (line/paragraph separators), BOM, U+FFFD, the noncharacters
    /// U+FFFE/U+FFFF, non-BMP (4-byte) characters up to U+10FFFF, or printable ASCII.
    std::string code_point_of_any_class() {
        static const char* const special[] = {
            "\"", "'", "\\", "\x7f", "\xC2\x80", "\xC2\x85", "\xC2\x9F", "\xC2\xA0", "\xE2\x80\xA8",
            "\xE2\x80\xA9", "\xEF\xBB\xBF", "\xEF\xBF\xBD", "\xEF\xBF\xBE", "\xEF\xBF\xBF",
            "\xF0\x90\x80\x80", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", "\xE6\x97\xA5"};
        const int k = static_cast<int>(pick(0, 2));
        if (k == 0) return std::string(1, static_cast<char>(pick(0, 0x1f)));
        if (k == 1) return special[pick(0, static_cast<std::int64_t>(std::size(special)) - 1)];
        return std::string(1, static_cast<char>(pick(32, 126)));
    }

    date random_date() {
        if (chance(8)) return date{0, 0, 0};
        if (chance(4)) return date{static_cast<std::uint16_t>(pick(1000, 9999)), 0, 0};
        return date{static_cast<std::uint16_t>(pick(1000, 9999)), static_cast<std::uint8_t>(pick(1, 12)),
                    static_cast<std::uint8_t>(pick(1, 28))};
    }

    std::int64_t timestamp_us() {
        // TIMESTAMP's MySQL range, plus a margin either side that the text forms must still handle.
        return pick(-86400LL * 365 * 1000000, 2147483647LL * 1000000 + 999999);
    }

    std::mt19937_64& rng() { return rng_; }

private:
    std::mt19937_64 rng_;
    random_options opt_;
};

}  // namespace rowcast::test
