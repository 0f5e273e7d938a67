// bench/simdjson_baseline.hpp: the simdjson on-demand baseline of the JSON decode benchmarks
// (Debian libsimdjson-dev; bench only, never the library).
//
// What it does, to be comparable with rowcast's json_codec::decode into a reused event:
// simdjson's on-demand parser (one parser, reused) iterates the same document (rowcast's
// default envelope, padded once outside the timed loop as simdjson needs) and visits every
// field in document order, with unescaped keys and strings, materializing every value into
// a rowcast::event exactly as bench/baselines.hpp's nlohmann extractor does: schema, table,
// operation, the column list (names, every type field, the primary key), both images as
// typed values (numbers as numbers, DECIMAL/temporal strings parsed with the same
// rowcast/detail/text.hpp helpers), sequence, transaction, source, times, statement.
// The column list gets the same shortcut as rowcast's decoder, so that the comparison is of
// parsers and not of caches: decode() keeps up to 64 lists keyed by the raw bytes of their
// three sections ("columns", "keys", "rowcast.types": taken with raw_json(), which simdjson
// still has to scan); when "columns" matches an entry the images are decoded with its list
// in the same walk, and the list is taken if "keys" and "types" match too. On a miss (the
// first event of each table) decode_uncached() runs: every section parsed into a scratch
// vector compared with the event's current list (a new shared list only when it differs,
// as the nlohmann baseline does), the images read in a second walk over the same parsed
// document (doc.rewind(): the structural index is not rebuilt) since they precede
// "rowcast.types" in the document. simdjson.decode_uncached measures that path alone.
// Only natural forms are handled (every value of the reference events is natural); the
// benchmark's self-check fails if an event needs something else.
#pragma once

#include "baselines.hpp"

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rowcast::bench {

namespace sj = simdjson::ondemand;

inline bool sj_value(sj::value v, const column& c, value& slot) {
    bool is_null = false;
    if (v.is_null().get(is_null) == simdjson::SUCCESS && is_null) {
        slot = null_value{};
        return true;
    }
    const value_kind k = c.type.natural_kind();
    switch (k) {
        case value_kind::int64: {
            std::int64_t x;
            if (v.get_int64().get(x)) return false;
            slot = x;
            return true;
        }
        case value_kind::uint64: {
            std::uint64_t x;
            if (v.get_uint64().get(x)) return false;
            slot = x;
            return true;
        }
        case value_kind::float32:
        case value_kind::float64: {
            double d = 0;
            sj::json_type t;
            if (v.type().get(t)) return false;
            if (t == sj::json_type::number) {
                if (v.get_double().get(d)) return false;
            } else {
                std::string_view s;
                if (v.get_string().get(s) || !parse_float_special(s, d)) return false;
            }
            if (k == value_kind::float32) slot = static_cast<float>(d);
            else slot = d;
            return true;
        }
        case value_kind::bytes: {
            sj::object o;
            std::string_view b64;
            if (v.get_object().get(o) || o["base64"].get_string().get(b64)) return false;
            std::string b;
            if (!detail::decode_base64(b64, b)) return false;
            slot = bytes{std::move(b)};
            return true;
        }
        case value_kind::year: {
            std::uint64_t x;
            if (v.get_uint64().get(x)) return false;
            slot = year{static_cast<std::uint16_t>(x)};
            return true;
        }
        case value_kind::bit: {
            std::uint64_t x;
            if (v.get_uint64().get(x)) return false;
            slot = bit{x, static_cast<std::uint8_t>(c.type.length)};
            return true;
        }
        case value_kind::enumeration: {
            std::string_view n;
            if (v.get_string().get(n)) return false;
            slot = enum_value{std::string(n), member_index(c.type.members, n)};
            return true;
        }
        case value_kind::set: {
            sj::array a;
            if (v.get_array().get(a)) return false;
            set_value s;
            for (auto m : a) {
                std::string_view n;
                if (m.get_string().get(n)) return false;
                add_set_member(s, c.type.members, n);
            }
            slot = std::move(s);
            return true;
        }
        case value_kind::geometry: {
            sj::object o;
            std::uint64_t srid = 0;
            std::string_view wkb;
            if (v.get_object().get(o)) return false;
            for (auto f : o) {
                std::string_view key;
                if (f.unescaped_key().get(key)) return false;
                if (key == "srid" && f.value().get_uint64().get(srid)) return false;
                if (key == "wkb" && f.value().get_string().get(wkb)) return false;
            }
            geometry g{static_cast<std::uint32_t>(srid), {}};
            if (!detail::decode_base64(wkb, g.wkb)) return false;
            slot = std::move(g);
            return true;
        }
        default: {
            std::string_view s;
            if (v.get_string().get(s)) return false;
            return parse_scalar_text(k, s, slot);
        }
    }
}

/// An image object: every member is a column of `cols` (looked up from the previous
/// member's index on, as the columns come in order), absent columns are `absent`.
inline bool sj_image(sj::value v, const column_list& cols, std::vector<value>& image) {
    sj::object o;
    if (v.get_object().get(o)) return false;
    image.resize(cols.size());
    thread_local std::vector<char> seen;
    seen.assign(cols.size(), 0);
    std::size_t next = 0;
    for (auto f : o) {
        std::string_view key;
        if (f.unescaped_key().get(key)) return false;
        std::size_t i = next;
        for (std::size_t n = 0; n < cols.size() && cols[i].name != key; ++n) i = i + 1 == cols.size() ? 0 : i + 1;
        if (cols.size() == 0 || cols[i].name != key) return false;  // not a column
        if (!sj_value(f.value(), cols[i], image[i])) return false;
        seen[i] = 1;
        next = i + 1 == cols.size() ? 0 : i + 1;
    }
    for (std::size_t i = 0; i < image.size(); ++i)
        if (!seen[i]) image[i] = absent{};
    return true;
}

/// Calls on(key, value) for every member of the object `v` (unescaped keys); false on an error.
template <class F>
inline bool sj_each(sj::value v, F&& on) {
    sj::object o;
    if (v.get_object().get(o)) return false;
    for (auto f : o) {
        std::string_view k;
        if (f.unescaped_key().get(k) || !on(k, f.value())) return false;
    }
    return true;
}

inline bool sj_string(sj::value v, std::string& out) {
    std::string_view s;
    if (v.get_string().get(s)) return false;
    out.assign(s);
    return true;
}

inline bool sj_time(sj::value v, time_point& t) {
    sj::json_type ty;
    if (v.type().get(ty)) return false;
    if (ty == sj::json_type::number) {
        std::int64_t us;
        if (v.get_int64().get(us)) return false;
        t = time_point{std::chrono::microseconds{us}};
        return true;
    }
    std::string_view s;
    return !v.get_string().get(s) && parse_time_point(s, t);
}

inline bool sj_column_type(sj::value v, column& c) {
    sj::object o;
    if (v.get_object().get(o)) return false;
    reset_type(c, sql_type::unknown);
    bool have_type = false;
    for (auto f : o) {
        std::string_view k;
        if (f.unescaped_key().get(k)) return false;
        sj::value x = f.value();
        std::uint64_t n = 0;
        bool b = false;
        std::string_view s;
        if (k == "type") {
            if (x.get_string().get(s)) return false;
            auto t = parse_sql_type(s);
            if (!t) return false;
            c.type.type = *t;
            have_type = true;
        } else if (k == "unsigned") {
            if (x.get_bool().get(b)) return false;
            c.type.is_unsigned = b;
        } else if (k == "nullable") {
            if (x.get_bool().get(b)) return false;
            c.nullable = b;
        } else if (k == "length") {
            if (x.get_uint64().get(n)) return false;
            c.type.length = static_cast<std::uint32_t>(n);
        } else if (k == "precision" || k == "scale" || k == "fsp") {
            if (x.get_uint64().get(n)) return false;
            (k == "precision" ? c.type.precision : k == "scale" ? c.type.scale : c.type.fsp) = static_cast<std::uint8_t>(n);
        } else if (k == "charset") {
            if (!sj_string(x, c.type.charset)) return false;
        } else if (k == "geometry_type") {
            if (!sj_string(x, c.type.geometry_type)) return false;
        } else if (k == "members") {
            sj::array a;
            if (x.get_array().get(a)) return false;
            for (auto m : a) {
                if (m.get_string().get(s)) return false;
                c.type.members.emplace_back(s);
            }
        }
    }
    return have_type;
}

/// Decodes one document of rowcast's default envelope into `e` (see the top of this file).
class simdjson_extractor {
public:
    /// With the column-list cache (the fast path; see the top of this file).
    bool decode(const simdjson::padded_string& in, event& e) {
        sj::document doc;
        if (parser_.iterate(in).get(doc)) return false;
        sj::object top;
        if (doc.get_object().get(top)) return false;
        clear_metadata(e);
        std::string_view names, keys, types;
        const cached* sel = nullptr;
        bool has_new = false, has_old = false, images_done = true;
        const bool walked = each_top_field(top, e, [&](std::string_view k, sj::value v) {
            if (k == "columns") {
                sj::array a;
                if (v.get_array().get(a) || a.raw_json().get(names)) return false;
                sel = find(names);
            } else if (k == "keys") {
                sj::array a;
                if (v.get_array().get(a) || a.raw_json().get(keys)) return false;
            } else if (k == "new" || k == "old") {
                (k == "new" ? has_new : has_old) = true;
                if (!sel) images_done = false;  // no list known yet: read in the full path
                else if (!sj_image(v, *sel->list, k == "new" ? e.after : e.before)) return false;
            } else if (k == "rowcast") {
                if (!rowcast_object(v, e, nullptr, types)) return false;
            }
            return true;
        });
        if (!walked) return false;
        if (!sel || !images_done || sel->keys != keys || sel->types != types) return decode_and_cache(in, e, names, keys, types);
        if (e.columns != sel->list) e.columns = sel->list;
        if (!has_new) e.after.clear();
        if (!has_old) e.before.clear();
        return true;
    }

private:
    // The fields rowcast's row event does not get from the document unless it has them.
    static void clear_metadata(event& e) {
        e.sequence = 0;
        e.transaction = {};
        e.source.file.clear();
        e.source.gtid.clear();
        e.source.offset = 0;
        e.source.server_id = 0;
        e.commit_time = e.capture_time = time_point{};
        e.statement.clear();
    }
    // schema, table, operation, timestamp (the same instant as rowcast.commit_time): true if
    // `k` is one of them, with `ok` false if its value is wrong.
    static bool header_field(std::string_view k, sj::value v, event& e, bool& ok) {
        std::string_view s;
        if (k == "schema") ok = sj_string(v, e.schema);
        else if (k == "table") ok = sj_string(v, e.table);
        else if (k == "operation") ok = !v.get_string().get(s) && parse_event_kind(s, e.kind);
        else if (k == "timestamp") ok = !v.get_string().get(s);
        else return false;
        return true;
    }
    // Every member of the top-level object: the header fields into `e`, the others to on(key, value).
    template <class F>
    static bool each_top_field(sj::object top, event& e, F&& on) {
        for (auto f : top) {
            std::string_view k;
            if (f.unescaped_key().get(k)) return false;
            sj::value v = f.value();
            bool ok = true;
            if (header_field(k, v, e, ok)) {
                if (!ok) return false;
            } else if (!on(k, v)) {
                return false;
            }
        }
        return true;
    }
    // A column list by the raw bytes of the sections it was read from.
    struct cached {
        std::string names, keys, types;
        columns_ptr list;
    };
    const cached* find(std::string_view names) {
        if (mru_ < cache_.size() && cache_[mru_].names == names) return &cache_[mru_];
        for (std::size_t i = 0; i < cache_.size(); ++i)
            if (cache_[i].names == names) return &cache_[mru_ = i];
        return nullptr;
    }
    bool decode_and_cache(const simdjson::padded_string& in, event& e, std::string_view names, std::string_view keys,
                          std::string_view types) {
        cached c{std::string(names), std::string(keys), std::string(types), nullptr};  // before the parser is reused
        if (!decode_uncached(in, e)) return false;
        c.list = e.columns;
        if (cache_.size() < 64) cache_.push_back(std::move(c));
        else cache_[next_++ % 64] = std::move(c);
        return true;
    }
    std::vector<cached> cache_;
    std::size_t mru_ = 0, next_ = 0;

public:
    /// Without a cache: every section parsed, the list compared with the event's.
    bool decode_uncached(const simdjson::padded_string& in, event& e) {
        sj::document doc;
        if (parser_.iterate(in).get(doc)) return false;
        sj::object top;
        if (doc.get_object().get(top)) return false;
        auto& cols = scratch_columns();
        std::size_t ncols = 0, ntypes = 0;
        bool has_names = false, has_old = false, has_new = false;
        std::size_t nkeys = 0;
        clear_metadata(e);
        const bool walked = each_top_field(top, e, [&](std::string_view k, sj::value v) {
            if (k == "columns") {
                sj::array a;
                if (v.get_array().get(a)) return false;
                has_names = true;
                for (auto n : a) {
                    std::string_view s;
                    if (n.get_string().get(s)) return false;
                    if (cols.size() <= ncols) cols.emplace_back();
                    cols[ncols++].name.assign(s);
                }
            } else if (k == "keys") {
                sj::array a;
                if (v.get_array().get(a)) return false;
                for (auto n : a) {
                    std::string_view s;
                    if (n.get_string().get(s)) return false;
                    if (keys_.size() <= nkeys) keys_.emplace_back();
                    keys_[nkeys++].assign(s);
                }
            } else if (k == "primary") {  // "keys" again: one name, or an array of them
                sj::json_type t;
                if (v.type().get(t)) return false;
                std::string_view s;
                if (t == sj::json_type::string) {
                    if (v.get_string().get(s)) return false;
                } else {
                    sj::array a;
                    if (v.get_array().get(a)) return false;
                    for (auto n : a)
                        if (n.get_string().get(s)) return false;
                }
            } else if (k == "new") {
                has_new = true;  // read in the second walk, once the types are known
            } else if (k == "old") {
                has_old = true;
            } else if (k == "rowcast") {
                std::string_view types_raw;
                if (!rowcast_object(v, e, &cols, types_raw, &ntypes)) return false;
            }
            return true;
        });
        if (!walked) return false;
        if (has_names) {
            if (ntypes != ncols) return false;
            cols.resize(ncols);
            for (std::size_t i = 0; i < nkeys; ++i)
                for (auto& c : cols)
                    if (c.name == keys_[i]) c.primary_key = true;
            commit_columns(cols, e);
        } else {
            e.columns.reset();
        }
        const column_list& list = e.columns ? *e.columns : no_columns();
        if (!has_new) e.after.clear();
        if (!has_old) e.before.clear();
        if (!has_new && !has_old) return true;
        if (doc.rewind(), doc.get_object().get(top)) return false;
        for (auto f : top) {
            std::string_view k;
            if (f.unescaped_key().get(k)) return false;
            if (k == "new" && !sj_image(f.value(), list, e.after)) return false;
            if (k == "old" && !sj_image(f.value(), list, e.before)) return false;
        }
        return true;
    }

private:
    // The "rowcast" object; its "types" parsed into `cols` (when given) or only their raw bytes taken.
    bool rowcast_object(sj::value v, event& e, std::vector<column>* cols, std::string_view& types_raw,
                        std::size_t* ntypes = nullptr) {
        sj::object o;
        if (v.get_object().get(o)) return false;
        for (auto f : o) {
            std::string_view k;
            if (f.unescaped_key().get(k)) return false;
            sj::value x = f.value();
            std::uint64_t n = 0;
            bool b = false;
            if (k == "version") {
                if (x.get_uint64().get(n) || n != 1) return false;
            } else if (k == "sequence") {
                if (x.get_uint64().get(e.sequence)) return false;
            } else if (k == "transaction") {
                const bool ok = sj_each(x, [&](std::string_view gk, sj::value g) {
                    if (gk == "id") return sj_string(g, e.transaction.id);
                    if (gk == "position") return !g.get_uint64().get(n) && (e.transaction.position = static_cast<std::uint32_t>(n), true);
                    if (gk == "last") return !g.get_bool().get(b) && (e.transaction.last = b, true);
                    return true;
                });
                if (!ok) return false;
            } else if (k == "source") {
                const bool ok = sj_each(x, [&](std::string_view gk, sj::value g) {
                    if (gk == "file") return sj_string(g, e.source.file);
                    if (gk == "gtid") return sj_string(g, e.source.gtid);
                    if (gk == "offset") return !g.get_uint64().get(e.source.offset);
                    if (gk == "server_id") return !g.get_uint64().get(n) && (e.source.server_id = static_cast<std::uint32_t>(n), true);
                    return true;
                });
                if (!ok) return false;
            } else if (k == "commit_time") {
                if (!sj_time(x, e.commit_time)) return false;
            } else if (k == "capture_time") {
                if (!sj_time(x, e.capture_time)) return false;
            } else if (k == "statement") {
                if (!sj_string(x, e.statement)) return false;
            } else if (k == "types") {
                sj::array a;
                if (x.get_array().get(a)) return false;
                if (!cols) {
                    if (a.raw_json().get(types_raw)) return false;
                    continue;
                }
                for (auto t : a) {
                    if (cols->size() <= *ntypes) cols->emplace_back();
                    if (!sj_column_type(t.value(), (*cols)[(*ntypes)++])) return false;
                }
            } else if (k == "columns" || k == "keys") {
                sj::array a;  // the same lists as the top-level "columns"/"primary" (Debezium form)
                if (x.get_array().get(a)) return false;
                for (auto n2 : a) {
                    std::string_view s;
                    if (n2.get_string().get(s)) return false;
                }
            }
        }
        return true;
    }

    sj::parser parser_;
    std::vector<std::string> keys_;
};

}  // namespace rowcast::bench
