// bench/baselines.hpp: the baselines of the codec benchmarks, written the way an
// application would without rowcast's codecs:
//  - nlohmann::json: build a DOM of the event (plain `nlohmann::json`, the library's
//    default, whose objects are std::maps: keys come out sorted, not in column order),
//    `dump()` it; `json::parse` a dump and extract every field back into a rowcast::event;
//  - yaml-cpp: YAML::Emitter of the same content; YAML::Load of it and extract.
// The document carries every field the rowcast JSON carries, each value in the natural
// form of docs/value-mapping.md (numbers as numbers, DECIMAL as a string, temporal values
// as ISO 8601 strings…), formatted and parsed with the same helpers as rowcast's text
// codecs (rowcast/detail/text.hpp), so the measured difference is the DOM, not the digits.
// Only natural forms are handled (every value of the reference events is natural); the
// benchmark's self-check fails loudly if an event needs something else.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/event.hpp>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace rowcast::bench {

using njson = nlohmann::json;

// ---------------------------------------------------------------------------
// Shared helpers

/// Assigns a string-holding alternative, reusing the slot's buffer when it already holds one.
template <class Alt>
inline void assign_string(value& slot, std::string_view s) {
    if (auto* p = std::get_if<Alt>(&slot)) {
        if constexpr (std::is_same_v<Alt, decimal>) p->digits.assign(s);
        else if constexpr (std::is_same_v<Alt, text>) p->utf8.assign(s);
        else if constexpr (std::is_same_v<Alt, json_text>) p->text.assign(s);
        else static_assert(!sizeof(Alt*), "not a plain string alternative");
        return;
    }
    if constexpr (std::is_same_v<Alt, decimal>) slot = decimal{std::string(s)};
    else if constexpr (std::is_same_v<Alt, text>) slot = text{std::string(s)};
    else slot = json_text{std::string(s)};
}

/// The 1-based index of `name` among `members`, or 0.
inline std::uint16_t member_index(const std::vector<std::string>& members, std::string_view name) {
    for (std::size_t i = 0; i < members.size(); ++i)
        if (members[i] == name) return static_cast<std::uint16_t>(i + 1);
    return 0;
}

/// Adds member `n` of a SET value: its name to the list, its bit (if a member of `members`) to the mask.
inline void add_set_member(set_value& s, const std::vector<std::string>& members, std::string_view n) {
    if (!s.names.empty()) s.names += ',';
    s.names += n;
    if (auto i = member_index(members, n)) s.mask |= std::uint64_t{1} << (i - 1);
}

inline std::string_view float_special(double d) {
    if (std::isnan(d)) return "NaN";
    return d > 0 ? "Infinity" : "-Infinity";
}

inline bool parse_float_special(std::string_view s, double& d) {
    if (s == "NaN") d = std::nan("");
    else if (s == "Infinity") d = HUGE_VAL;
    else if (s == "-Infinity") d = -HUGE_VAL;
    else return false;
    return true;
}

inline std::string time_text(time_point t) {
    std::string s;
    detail::append_timestamp(s, timestamp{t.time_since_epoch().count()});
    return s;
}

inline bool parse_time_point(std::string_view s, time_point& t) {
    timestamp ts;
    if (!detail::parse_timestamp(s, ts)) return false;
    t = time_point{std::chrono::microseconds{ts.microseconds}};
    return true;
}

/// The text form of a temporal, decimal or text value (the string-valued natural forms).
inline std::string scalar_text(const value& v) {
    std::string s;
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, decimal>) s = x.digits;
            else if constexpr (std::is_same_v<T, text>) s = x.utf8;
            else if constexpr (std::is_same_v<T, date>) detail::append_date(s, x);
            else if constexpr (std::is_same_v<T, rowcast::time>) detail::append_time(s, x);
            else if constexpr (std::is_same_v<T, datetime>) detail::append_datetime(s, x);
            else if constexpr (std::is_same_v<T, timestamp>) detail::append_timestamp(s, x);
        },
        v.as_variant());
    return s;
}

/// Parses a string-valued natural form for a column whose natural kind is `k` into `slot`.
inline bool parse_scalar_text(value_kind k, std::string_view s, value& slot) {
    switch (k) {
        case value_kind::decimal:
            if (!detail::valid_decimal(s)) return false;
            assign_string<decimal>(slot, s);
            return true;
        case value_kind::text: assign_string<text>(slot, s); return true;
        case value_kind::json: assign_string<json_text>(slot, s); return true;
        case value_kind::date: {
            date d;
            if (!detail::parse_date(s, d)) return false;
            slot = d;
            return true;
        }
        case value_kind::time: {
            rowcast::time t;
            if (!detail::parse_time(s, t)) return false;
            slot = t;
            return true;
        }
        case value_kind::datetime: {
            datetime d;
            if (!detail::parse_datetime(s, d)) return false;
            slot = d;
            return true;
        }
        case value_kind::timestamp: {
            timestamp t;
            if (!detail::parse_timestamp(s, t)) return false;
            slot = t;
            return true;
        }
        default: return false;
    }
}

// ---------------------------------------------------------------------------
// nlohmann::json

inline njson to_json(const value& v) {
    return std::visit(
        [&](const auto& x) -> njson {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, absent> || std::is_same_v<T, null_value>) return nullptr;
            else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) return x;
            else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                if (std::isfinite(x)) return static_cast<double>(x);
                return float_special(static_cast<double>(x));
            } else if constexpr (std::is_same_v<T, bytes>) {
                std::string b;
                detail::append_base64(b, x.data);
                return njson{{"base64", std::move(b)}};
            } else if constexpr (std::is_same_v<T, year>) return x.value;
            else if constexpr (std::is_same_v<T, bit>) return x.bits;
            else if constexpr (std::is_same_v<T, enum_value>) return x.name;
            else if constexpr (std::is_same_v<T, set_value>) {
                njson a = njson::array();
                std::string_view rest = x.names;
                while (!rest.empty()) {
                    const auto comma = rest.find(',');
                    a.push_back(std::string(rest.substr(0, comma)));
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
                return a;
            } else if constexpr (std::is_same_v<T, json_text>) return x.text;
            else if constexpr (std::is_same_v<T, geometry>) {
                std::string b;
                detail::append_base64(b, x.wkb);
                return njson{{"srid", x.srid}, {"wkb", std::move(b)}};
            } else return scalar_text(v);
        },
        v.as_variant());
}

inline njson image_to_json(const column_list& cols, const std::vector<value>& image) {
    njson o = njson::object();
    for (std::size_t i = 0; i < image.size() && i < cols.size(); ++i)
        if (!image[i].is_absent()) o[cols[i].name] = to_json(image[i]);
    return o;
}

inline const column_list& no_columns() {
    static const column_list empty;
    return empty;
}

inline std::int64_t us_of(time_point t) { return t.time_since_epoch().count(); }

/// "YYYY-MM-DD HH:MM:SS" (smpl-repl's "timestamp").
inline std::string sql_seconds(std::int64_t us) {
    std::string s;
    detail::append_timestamp(s, timestamp{us});
    s.resize(19);
    s[10] = ' ';
    return s;
}

/// The primary-key and all column names of `cols`.
template <class Seq>
void column_names(const column_list& cols, Seq& keys, Seq& names) {
    for (const column& c : cols) {
        names.push_back(c.name);
        if (c.primary_key) keys.push_back(c.name);
    }
}

/// The DOM of an event: every field rowcast's JSON (default envelope, docs/json.md) carries:
///   {"schema","table","timestamp","operation","primary","keys","columns","new","old",
///    "rowcast":{"version","sequence","transaction","source","commit_time","capture_time",
///               "statement","types"}}
inline njson to_json(const event& e) {
    njson j;
    j["schema"] = e.schema;
    j["table"] = e.table;
    const std::int64_t ts = us_of(e.commit_time) ? us_of(e.commit_time) : us_of(e.capture_time);
    if (ts) j["timestamp"] = sql_seconds(ts);
    j["operation"] = std::string(to_string(e.kind));
    const bool has_cols = e.columns && e.columns->size();
    const column_list& cols = has_cols ? *e.columns : no_columns();
    if (is_row_event(e.kind) || has_cols) {
        njson keys = njson::array(), names = njson::array();
        column_names(cols, keys, names);
        if (keys.size() == 1) j["primary"] = keys[0];
        else if (keys.size() > 1) j["primary"] = keys;
        j["keys"] = std::move(keys);
        j["columns"] = std::move(names);
        if (e.kind == event_kind::insert || e.kind == event_kind::update) j["new"] = image_to_json(cols, e.after);
        if (e.kind == event_kind::update || e.kind == event_kind::delete_) j["old"] = image_to_json(cols, e.before);
    }
    njson r;
    r["version"] = 1;
    if (e.sequence) r["sequence"] = e.sequence;
    const auto& tx = e.transaction;
    if (!tx.id.empty() || tx.position || tx.last) {
        njson t = njson::object();
        if (!tx.id.empty()) t["id"] = tx.id;
        if (tx.position) t["position"] = tx.position;
        if (tx.last) t["last"] = true;
        r["transaction"] = std::move(t);
    }
    const auto& src = e.source;
    if (!src.file.empty() || src.offset || !src.gtid.empty() || src.server_id) {
        njson o = njson::object();
        if (!src.file.empty()) o["file"] = src.file;
        if (src.offset) o["offset"] = src.offset;
        if (!src.gtid.empty()) o["gtid"] = src.gtid;
        if (src.server_id) o["server_id"] = src.server_id;
        r["source"] = std::move(o);
    }
    if (us_of(e.commit_time)) r["commit_time"] = time_text(e.commit_time);
    if (us_of(e.capture_time)) r["capture_time"] = time_text(e.capture_time);
    if (!e.statement.empty()) r["statement"] = e.statement;
    if (has_cols) {
        njson types = njson::array();
        for (const column& c : cols) {
            njson d;
            d["type"] = std::string(to_string(c.type.type));
            if (c.type.is_unsigned) d["unsigned"] = true;
            if (c.type.length) d["length"] = c.type.length;
            if (c.type.precision) d["precision"] = c.type.precision;
            if (c.type.scale) d["scale"] = c.type.scale;
            if (c.type.fsp) d["fsp"] = c.type.fsp;
            if (!c.type.charset.empty()) d["charset"] = c.type.charset;
            if (!c.type.members.empty()) d["members"] = c.type.members;
            if (!c.type.geometry_type.empty()) d["geometry_type"] = c.type.geometry_type;
            if (!c.nullable) d["nullable"] = false;
            types.push_back(std::move(d));
        }
        r["types"] = std::move(types);
    }
    j["rowcast"] = std::move(r);
    return j;
}

/// Extracts one natural-form value for column `c` into `slot`.
inline bool from_json(const njson& j, const column& c, value& slot) {
    if (j.is_null()) {
        slot = null_value{};
        return true;
    }
    const value_kind k = c.type.natural_kind();
    switch (k) {
        case value_kind::int64:
            if (!j.is_number_integer()) return false;
            slot = j.get<std::int64_t>();
            return true;
        case value_kind::uint64:
            if (!j.is_number_unsigned()) return false;
            slot = j.get<std::uint64_t>();
            return true;
        case value_kind::float32:
        case value_kind::float64: {
            double d = 0;
            if (j.is_number()) d = j.get<double>();
            else if (!j.is_string() || !parse_float_special(j.get_ref<const std::string&>(), d)) return false;
            if (k == value_kind::float32) slot = static_cast<float>(d);
            else slot = d;
            return true;
        }
        case value_kind::bytes: {
            auto it = j.find("base64");
            if (it == j.end() || !it->is_string()) return false;
            std::string b;
            if (!detail::decode_base64(it->get_ref<const std::string&>(), b)) return false;
            slot = bytes{std::move(b)};
            return true;
        }
        case value_kind::year:
            if (!j.is_number_unsigned()) return false;
            slot = year{j.get<std::uint16_t>()};
            return true;
        case value_kind::bit:
            if (!j.is_number_unsigned()) return false;
            slot = bit{j.get<std::uint64_t>(), static_cast<std::uint8_t>(c.type.length)};
            return true;
        case value_kind::enumeration: {
            if (!j.is_string()) return false;
            const auto& n = j.get_ref<const std::string&>();
            slot = enum_value{n, member_index(c.type.members, n)};
            return true;
        }
        case value_kind::set: {
            if (!j.is_array()) return false;
            set_value s;
            for (const auto& m : j) {
                if (!m.is_string()) return false;
                add_set_member(s, c.type.members, m.get_ref<const std::string&>());
            }
            slot = std::move(s);
            return true;
        }
        case value_kind::geometry: {
            auto srid = j.find("srid");
            auto wkb = j.find("wkb");
            if (srid == j.end() || wkb == j.end() || !wkb->is_string()) return false;
            geometry g{srid->get<std::uint32_t>(), {}};
            if (!detail::decode_base64(wkb->get_ref<const std::string&>(), g.wkb)) return false;
            slot = std::move(g);
            return true;
        }
        default:
            if (!j.is_string()) return false;
            return parse_scalar_text(k, j.get_ref<const std::string&>(), slot);
    }
}

inline bool image_from_json(const njson& o, const column_list& cols, std::vector<value>& image) {
    if (!o.is_object()) return false;
    image.resize(cols.size());
    std::size_t found = 0;
    for (std::size_t i = 0; i < cols.size(); ++i) {
        auto it = o.find(cols[i].name);
        if (it == o.end()) {
            image[i] = absent{};
            continue;
        }
        if (!from_json(*it, cols[i], image[i])) return false;
        ++found;
    }
    return found == o.size();  // no key that is not a column
}

/// Scratch column list reused by the extractors (the decoded definitions are compared with
/// the event's current list and only copied into a new shared list when they differ, as a
/// caching decoder would; in the steady state nothing is allocated for them).
inline std::vector<column>& scratch_columns() {
    static thread_local std::vector<column> cols;
    return cols;
}

/// Finishes the column list: marks the primary key, reuses `e.columns` if it is the same.
inline void commit_columns(std::vector<column>& cols, event& e) {
    if (!e.columns || e.columns->columns != cols) e.columns = make_columns(cols);
}

inline void reset_type(column& c, sql_type t) {
    c.type.type = t;
    c.type.is_unsigned = false;
    c.type.length = 0;
    c.type.precision = c.type.scale = c.type.fsp = 0;
    c.type.charset.clear();
    c.type.members.clear();
    c.type.geometry_type.clear();
    c.primary_key = false;
    c.nullable = true;
}

inline bool column_type_from_json(const njson& d, column& c) {
    auto t = parse_sql_type(d.at("type").get_ref<const std::string&>());
    if (!t) return false;
    reset_type(c, *t);
    for (auto it = d.begin(); it != d.end(); ++it) {
        const std::string& k = it.key();
        if (k == "unsigned") c.type.is_unsigned = it->get<bool>();
        else if (k == "length") c.type.length = it->get<std::uint32_t>();
        else if (k == "precision") c.type.precision = it->get<std::uint8_t>();
        else if (k == "scale") c.type.scale = it->get<std::uint8_t>();
        else if (k == "fsp") c.type.fsp = it->get<std::uint8_t>();
        else if (k == "charset") c.type.charset = it->get_ref<const std::string&>();
        else if (k == "members") it->get_to(c.type.members);
        else if (k == "geometry_type") c.type.geometry_type = it->get_ref<const std::string&>();
        else if (k == "nullable") c.nullable = it->get<bool>();
    }
    return true;
}

inline bool parse_time_field(const njson& j, time_point& t) {
    if (j.is_number_integer()) {
        t = time_point{std::chrono::microseconds{j.get<std::int64_t>()}};
        return true;
    }
    return j.is_string() && parse_time_point(j.get_ref<const std::string&>(), t);
}

/// Extracts every field of `j` into `e`, reusing its storage. Throws nlohmann's exceptions
/// on a wrong type, returns false on a bad value.
inline bool from_json(const njson& j, event& e) {
    e.schema = j.at("schema").get_ref<const std::string&>();
    e.table = j.at("table").get_ref<const std::string&>();
    if (!parse_event_kind(j.at("operation").get_ref<const std::string&>(), e.kind)) return false;
    const njson& r = j.at("rowcast");
    auto names = j.find("columns");
    if (names != j.end() && !names->empty()) {
        const njson& types = r.at("types");
        if (types.size() != names->size()) return false;
        auto& cols = scratch_columns();
        cols.resize(names->size());
        for (std::size_t i = 0; i < cols.size(); ++i) {
            if (!column_type_from_json(types[i], cols[i])) return false;
            cols[i].name = (*names)[i].get_ref<const std::string&>();
        }
        for (const auto& k : j.at("keys")) {
            const auto& name = k.get_ref<const std::string&>();
            for (auto& c : cols)
                if (c.name == name) c.primary_key = true;
        }
        commit_columns(cols, e);
    } else {
        e.columns.reset();
    }
    const column_list& cols = e.columns ? *e.columns : no_columns();
    if (auto it = j.find("old"); it != j.end()) {
        if (!image_from_json(*it, cols, e.before)) return false;
    } else {
        e.before.clear();
    }
    if (auto it = j.find("new"); it != j.end()) {
        if (!image_from_json(*it, cols, e.after)) return false;
    } else {
        e.after.clear();
    }
    e.sequence = r.value("sequence", std::uint64_t{0});
    e.transaction.id.clear();
    e.transaction.position = 0;
    e.transaction.last = false;
    if (auto t = r.find("transaction"); t != r.end()) {
        if (auto x = t->find("id"); x != t->end()) e.transaction.id = x->get_ref<const std::string&>();
        e.transaction.position = t->value("position", std::uint32_t{0});
        e.transaction.last = t->value("last", false);
    }
    e.source.file.clear();
    e.source.gtid.clear();
    e.source.offset = 0;
    e.source.server_id = 0;
    if (auto s = r.find("source"); s != r.end()) {
        if (auto x = s->find("file"); x != s->end()) e.source.file = x->get_ref<const std::string&>();
        if (auto x = s->find("gtid"); x != s->end()) e.source.gtid = x->get_ref<const std::string&>();
        e.source.offset = s->value("offset", std::uint64_t{0});
        e.source.server_id = s->value("server_id", std::uint32_t{0});
    }
    e.commit_time = e.capture_time = time_point{};
    if (auto t = r.find("commit_time"); t != r.end() && !parse_time_field(*t, e.commit_time)) return false;
    if (auto t = r.find("capture_time"); t != r.end() && !parse_time_field(*t, e.capture_time)) return false;
    if (auto s = r.find("statement"); s != r.end()) e.statement = s->get_ref<const std::string&>();
    else e.statement.clear();
    return true;
}

// ---------------------------------------------------------------------------
// yaml-cpp: the same document through YAML::Emitter and YAML::Load.

inline void emit(YAML::Emitter& y, const value& v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, absent> || std::is_same_v<T, null_value>) y << YAML::Null;
            else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) y << x;
            else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                if (std::isfinite(x)) {
                    std::string s;
                    detail::append_number(s, x);  // shortest round trip
                    y << s;
                } else {
                    y << std::string(float_special(static_cast<double>(x)));
                }
            } else if constexpr (std::is_same_v<T, bytes>) {
                std::string b;
                detail::append_base64(b, x.data);
                y << YAML::BeginMap << YAML::Key << "base64" << YAML::Value << b << YAML::EndMap;
            } else if constexpr (std::is_same_v<T, year>) y << x.value;
            else if constexpr (std::is_same_v<T, bit>) y << x.bits;
            else if constexpr (std::is_same_v<T, enum_value>) y << YAML::DoubleQuoted << x.name;
            else if constexpr (std::is_same_v<T, set_value>) {
                y << YAML::Flow << YAML::BeginSeq;
                std::string_view rest = x.names;
                while (!rest.empty()) {
                    const auto comma = rest.find(',');
                    y << YAML::DoubleQuoted << std::string(rest.substr(0, comma));
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
                y << YAML::EndSeq;
            } else if constexpr (std::is_same_v<T, json_text>) y << YAML::DoubleQuoted << x.text;
            else if constexpr (std::is_same_v<T, geometry>) {
                std::string b;
                detail::append_base64(b, x.wkb);
                y << YAML::BeginMap << YAML::Key << "srid" << YAML::Value << x.srid << YAML::Key << "wkb"
                  << YAML::Value << b << YAML::EndMap;
            } else {
                y << YAML::DoubleQuoted << scalar_text(v);  // strings stay strings
            }
        },
        v.as_variant());
}

inline void emit_image(YAML::Emitter& y, const column_list& cols, const std::vector<value>& image) {
    y << YAML::BeginMap;
    for (std::size_t i = 0; i < image.size() && i < cols.size(); ++i)
        if (!image[i].is_absent()) {
            y << YAML::Key << cols[i].name << YAML::Value;
            emit(y, image[i]);
        }
    y << YAML::EndMap;
}

/// Emits the same content as to_json(event), in rowcast's key order (an emitter keeps
/// insertion order; a plain nlohmann::json sorts keys).
inline void emit(YAML::Emitter& y, const event& e) {
    y << YAML::BeginMap;
    y << YAML::Key << "schema" << YAML::Value << e.schema;
    y << YAML::Key << "table" << YAML::Value << e.table;
    const std::int64_t ts = us_of(e.commit_time) ? us_of(e.commit_time) : us_of(e.capture_time);
    if (ts) y << YAML::Key << "timestamp" << YAML::Value << YAML::DoubleQuoted << sql_seconds(ts);
    y << YAML::Key << "operation" << YAML::Value << std::string(to_string(e.kind));
    const bool has_cols = e.columns && e.columns->size();
    const column_list& cols = has_cols ? *e.columns : no_columns();
    if (is_row_event(e.kind) || has_cols) {
        std::vector<std::string> keys, names;
        column_names(cols, keys, names);
        if (keys.size() == 1) y << YAML::Key << "primary" << YAML::Value << keys[0];
        else if (keys.size() > 1) y << YAML::Key << "primary" << YAML::Value << YAML::Flow << keys;
        y << YAML::Key << "keys" << YAML::Value << YAML::Flow << keys;
        y << YAML::Key << "columns" << YAML::Value << YAML::Flow << names;
        if (e.kind == event_kind::insert || e.kind == event_kind::update) {
            y << YAML::Key << "new" << YAML::Value;
            emit_image(y, cols, e.after);
        }
        if (e.kind == event_kind::update || e.kind == event_kind::delete_) {
            y << YAML::Key << "old" << YAML::Value;
            emit_image(y, cols, e.before);
        }
    }
    y << YAML::Key << "rowcast" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "version" << YAML::Value << 1;
    if (e.sequence) y << YAML::Key << "sequence" << YAML::Value << e.sequence;
    const auto& tx = e.transaction;
    if (!tx.id.empty() || tx.position || tx.last) {
        y << YAML::Key << "transaction" << YAML::Value << YAML::BeginMap;
        if (!tx.id.empty()) y << YAML::Key << "id" << YAML::Value << YAML::DoubleQuoted << tx.id;
        if (tx.position) y << YAML::Key << "position" << YAML::Value << tx.position;
        if (tx.last) y << YAML::Key << "last" << YAML::Value << true;
        y << YAML::EndMap;
    }
    const auto& src = e.source;
    if (!src.file.empty() || src.offset || !src.gtid.empty() || src.server_id) {
        y << YAML::Key << "source" << YAML::Value << YAML::BeginMap;
        if (!src.file.empty()) y << YAML::Key << "file" << YAML::Value << YAML::DoubleQuoted << src.file;
        if (src.offset) y << YAML::Key << "offset" << YAML::Value << src.offset;
        if (!src.gtid.empty()) y << YAML::Key << "gtid" << YAML::Value << YAML::DoubleQuoted << src.gtid;
        if (src.server_id) y << YAML::Key << "server_id" << YAML::Value << src.server_id;
        y << YAML::EndMap;
    }
    if (us_of(e.commit_time)) y << YAML::Key << "commit_time" << YAML::Value << time_text(e.commit_time);
    if (us_of(e.capture_time)) y << YAML::Key << "capture_time" << YAML::Value << time_text(e.capture_time);
    if (!e.statement.empty()) y << YAML::Key << "statement" << YAML::Value << YAML::DoubleQuoted << e.statement;
    if (has_cols) {
        y << YAML::Key << "types" << YAML::Value << YAML::BeginSeq;
        for (const column& c : cols) {
            y << YAML::Flow << YAML::BeginMap;
            y << YAML::Key << "type" << YAML::Value << std::string(to_string(c.type.type));
            if (c.type.is_unsigned) y << YAML::Key << "unsigned" << YAML::Value << true;
            if (c.type.length) y << YAML::Key << "length" << YAML::Value << c.type.length;
            if (c.type.precision) y << YAML::Key << "precision" << YAML::Value << unsigned{c.type.precision};
            if (c.type.scale) y << YAML::Key << "scale" << YAML::Value << unsigned{c.type.scale};
            if (c.type.fsp) y << YAML::Key << "fsp" << YAML::Value << unsigned{c.type.fsp};
            if (!c.type.charset.empty()) y << YAML::Key << "charset" << YAML::Value << c.type.charset;
            if (!c.type.members.empty()) y << YAML::Key << "members" << YAML::Value << YAML::Flow << c.type.members;
            if (!c.type.geometry_type.empty())
                y << YAML::Key << "geometry_type" << YAML::Value << c.type.geometry_type;
            if (!c.nullable) y << YAML::Key << "nullable" << YAML::Value << false;
            y << YAML::EndMap;
        }
        y << YAML::EndSeq;
    }
    y << YAML::EndMap;  // rowcast
    y << YAML::EndMap;
}

inline bool from_yaml(const YAML::Node& n, const column& c, value& slot) {
    if (n.IsNull()) {
        slot = null_value{};
        return true;
    }
    const value_kind k = c.type.natural_kind();
    switch (k) {
        case value_kind::int64: slot = n.as<std::int64_t>(); return true;
        case value_kind::uint64: slot = n.as<std::uint64_t>(); return true;
        case value_kind::float32:
        case value_kind::float64: {
            double d = 0;
            const std::string& s = n.Scalar();
            if (!parse_float_special(s, d) && !detail::parse_number(s, d)) return false;
            if (k == value_kind::float32) slot = static_cast<float>(d);
            else slot = d;
            return true;
        }
        case value_kind::bytes: {
            std::string b;
            if (!detail::decode_base64(n["base64"].Scalar(), b)) return false;
            slot = bytes{std::move(b)};
            return true;
        }
        case value_kind::year: slot = year{n.as<std::uint16_t>()}; return true;
        case value_kind::bit: slot = bit{n.as<std::uint64_t>(), static_cast<std::uint8_t>(c.type.length)}; return true;
        case value_kind::enumeration: {
            const std::string& s = n.Scalar();
            slot = enum_value{s, member_index(c.type.members, s)};
            return true;
        }
        case value_kind::set: {
            if (!n.IsSequence()) return false;
            set_value s;
            for (const auto& m : n) {
                const std::string& name = m.Scalar();
                if (!s.names.empty()) s.names += ',';
                s.names += name;
                if (auto i = member_index(c.type.members, name)) s.mask |= std::uint64_t{1} << (i - 1);
            }
            slot = std::move(s);
            return true;
        }
        case value_kind::geometry: {
            geometry g{n["srid"].as<std::uint32_t>(), {}};
            if (!detail::decode_base64(n["wkb"].Scalar(), g.wkb)) return false;
            slot = std::move(g);
            return true;
        }
        default:
            if (!n.IsScalar()) return false;
            return parse_scalar_text(k, n.Scalar(), slot);
    }
}

inline bool image_from_yaml(const YAML::Node& o, const column_list& cols, std::vector<value>& image) {
    if (!o.IsMap()) return false;
    image.resize(cols.size());
    std::size_t found = 0;
    for (std::size_t i = 0; i < cols.size(); ++i) {
        const YAML::Node v = o[cols[i].name];
        if (!v) {
            image[i] = absent{};
            continue;
        }
        if (!from_yaml(v, cols[i], image[i])) return false;
        ++found;
    }
    return found == o.size();  // no key that is not a column
}

inline bool column_type_from_yaml(const YAML::Node& d, column& c) {
    auto t = parse_sql_type(d["type"].Scalar());
    if (!t) return false;
    reset_type(c, *t);
    for (const auto& kv : d) {
        const std::string& k = kv.first.Scalar();
        const YAML::Node& v = kv.second;
        if (k == "unsigned") c.type.is_unsigned = v.as<bool>();
        else if (k == "length") c.type.length = v.as<std::uint32_t>();
        else if (k == "precision") c.type.precision = static_cast<std::uint8_t>(v.as<unsigned>());
        else if (k == "scale") c.type.scale = static_cast<std::uint8_t>(v.as<unsigned>());
        else if (k == "fsp") c.type.fsp = static_cast<std::uint8_t>(v.as<unsigned>());
        else if (k == "charset") c.type.charset = v.Scalar();
        else if (k == "members") c.type.members = v.as<std::vector<std::string>>();
        else if (k == "geometry_type") c.type.geometry_type = v.Scalar();
        else if (k == "nullable") c.nullable = v.as<bool>();
    }
    return true;
}

/// Extracts every field of a YAML::Load'ed document into `e` (same rules as from_json).
/// Throws yaml-cpp's exceptions on a wrong type, returns false on a bad value.
inline bool from_yaml(const YAML::Node& y, event& e) {
    e.schema = y["schema"].Scalar();
    e.table = y["table"].Scalar();
    if (!parse_event_kind(y["operation"].Scalar(), e.kind)) return false;
    const YAML::Node r = y["rowcast"];
    const YAML::Node names = y["columns"];
    if (names && names.size()) {
        const YAML::Node types = r["types"];
        if (types.size() != names.size()) return false;
        auto& cols = scratch_columns();
        cols.resize(names.size());
        for (std::size_t i = 0; i < cols.size(); ++i) {
            if (!column_type_from_yaml(types[i], cols[i])) return false;
            cols[i].name = names[i].Scalar();
        }
        for (const auto& k : y["keys"]) {
            const std::string& name = k.Scalar();
            for (auto& c : cols)
                if (c.name == name) c.primary_key = true;
        }
        commit_columns(cols, e);
    } else {
        e.columns.reset();
    }
    const column_list& cols = e.columns ? *e.columns : no_columns();
    if (auto o = y["old"]) {
        if (!image_from_yaml(o, cols, e.before)) return false;
    } else {
        e.before.clear();
    }
    if (auto o = y["new"]) {
        if (!image_from_yaml(o, cols, e.after)) return false;
    } else {
        e.after.clear();
    }
    e.sequence = r["sequence"] ? r["sequence"].as<std::uint64_t>() : 0;
    e.transaction.id.clear();
    e.transaction.position = 0;
    e.transaction.last = false;
    if (const YAML::Node t = r["transaction"]) {
        if (auto x = t["id"]) e.transaction.id = x.Scalar();
        if (auto x = t["position"]) e.transaction.position = x.as<std::uint32_t>();
        if (auto x = t["last"]) e.transaction.last = x.as<bool>();
    }
    e.source.file.clear();
    e.source.gtid.clear();
    e.source.offset = 0;
    e.source.server_id = 0;
    if (const YAML::Node s = r["source"]) {
        if (auto x = s["file"]) e.source.file = x.Scalar();
        if (auto x = s["gtid"]) e.source.gtid = x.Scalar();
        if (auto x = s["offset"]) e.source.offset = x.as<std::uint64_t>();
        if (auto x = s["server_id"]) e.source.server_id = x.as<std::uint32_t>();
    }
    e.commit_time = e.capture_time = time_point{};
    if (auto t = r["commit_time"]; t && !parse_time_point(t.Scalar(), e.commit_time)) return false;
    if (auto t = r["capture_time"]; t && !parse_time_point(t.Scalar(), e.capture_time)) return false;
    if (auto s = r["statement"]) e.statement = s.Scalar();
    else e.statement.clear();
    return true;
}

}  // namespace rowcast::bench
