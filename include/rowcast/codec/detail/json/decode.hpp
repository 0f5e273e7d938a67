// Internal: JSON message -> event, for both envelopes (recognised by their fields).
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/codec/detail/binary/column_cache.hpp>
#include <rowcast/codec/detail/binary/wire.hpp>
#include <rowcast/codec/detail/json/read.hpp>
#include <rowcast/codec/detail/json/wire.hpp>
#include <rowcast/codec/detail/json/wire_options.hpp>
#include <rowcast/codec/detail/json/write.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

// The member and element loops below take lambdas; inlining them keeps the loops as fast
// as the hand-written ones they replace.
#if defined(__GNUC__)
#define ROWCAST_JSON_INLINE __attribute__((always_inline))
#else
#define ROWCAST_JSON_INLINE
#endif

ROWCAST_NAMESPACE_BEGIN
namespace detail {

template <std::size_t N>
[[gnu::always_inline]] inline bool key_is(std::string_view k, const char (&lit)[N]) noexcept {
    return k.size() == N - 1 && std::memcmp(k.data(), lit, N - 1) == 0;
}

struct json_ostr {
    json_str s;
    bool set = false;
};

// Everything a message may carry, gathered in one pass before it is applied to the event.
struct json_stage {
    // default envelope
    json_ostr schema, table, operation;
    json_ostr ts_str;  // "timestamp", parsed only when there is no "rowcast" object
    std::size_t ts_at = 0;
    json_range primary, columns, img_new, img_old, payload;
    bool rowcast_fields = false;
    // Debezium
    bool dbz = false;
    json_range before, after;  // present and not null
    json_ostr op, status, txn_id, db, src_table, gtid, file, query, ddl, database_name, tx_id;
    std::uint64_t pos = 0, total_order = 0;
    std::uint32_t server_id = 0, src_row = 0;
    std::uint64_t src_thread = 0;  // Debezium source.thread, Maxwell thread_id
    bool has_src_ts_us = false, has_src_ts_ms = false, has_ts_us = false, has_ts_ms = false;
    json_range connect_schema;  // JsonConverter's "schema" (top level)
    json_range table_changes;   // schema change: the tables after it
    std::uint32_t event_count = 0;
    bool has_event_count = false;
    // Maxwell
    bool mx = false;
    json_ostr mx_database, mx_type, mx_position, mx_sql;
    json_range mx_data, mx_keys, mx_def;
    std::uint64_t mx_xid = 0;
    bool has_mx_xid = false;
    bool mx_commit = false, has_mx_ts = false, has_mx_ts_dummy = false;
    std::int64_t mx_ts = 0;
    std::uint32_t mx_xoffset = 0;
    std::int64_t src_ts_us = 0, src_ts_ms = 0, ts_us = 0, ts_ms = 0;
    // "rowcast" extension
    bool ext = false;
    json_ostr x_schema, x_table, x_tx_id, x_file, x_gtid;
    std::uint64_t x_sequence = 0, x_offset = 0, x_tx_xid = 0;
    std::uint32_t x_tx_pos = 0, x_server_id = 0, x_row = 0;
    std::uint64_t x_thread = 0;
    bool x_tx_last = false;
    std::int64_t x_commit = 0, x_capture = 0;
    json_range x_statement, x_types, x_columns, x_keys, x_exact, x_absent_before;
    bool x_strict = false;  // "envelope":"smpl-repl": values are smpl-repl's strings
};

class json_decoder {
public:
    std::size_t max_input_size = std::size_t{64} << 20;
    std::size_t max_depth = 64;
    std::size_t max_columns = 4096;
    bool prefer_debezium = false;  // for a message with neither envelope's fields
    debezium_options dbz{};        // how Debezium values are encoded

    result<std::size_t> decode(std::string_view in, event& ev) {
        r_.s = in.data();
        r_.limited = in.size() > max_input_size;
        r_.n = r_.limited ? max_input_size : in.size();
        r_.max_input = max_input_size;
        r_.max_depth = max_depth;
        r_.i = 0;
        r_.depth = 0;
        r_.ws();
        if (r_.i >= r_.n) {
            if (r_.limited) {
                r_.truncated();
                return std::move(r_.err);
            }
            return error::make(errc::truncated, "json", "at byte " + std::to_string(r_.i),
                               "no JSON object in the input");
        }
        if (r_.s[r_.i] != '{') {
            r_.syntax("expected '{' (one event is one JSON object)");
            return std::move(r_.err);
        }
        st_ = json_stage{};
        ev_ = &ev;
        spec_after_ = spec_before_ = 0;
        sel_ = cache_.mru();
        sel_mask_ = 0;
        if (!read_top()) return std::move(r_.err);
        const std::size_t end = r_.i;
        if (st_.payload.present() && !st_.dbz && !st_.rowcast_fields && !st_.ext) {
            // Kafka Connect JsonConverter with schemas: {"schema":{…},"payload":{…}}
            r_.i = st_.payload.b;
            const json_range connect_schema = st_.connect_schema;
            st_ = json_stage{};
            st_.connect_schema = connect_schema;
            spec_after_ = spec_before_ = 0;
            sel_ = cache_.mru();
        sel_mask_ = 0;
            if (r_.peek() != '{') {
                r_.fail(errc::type_mismatch, r_.i, "$.payload", "expected an object");
                return std::move(r_.err);
            }
            if (!read_top()) return std::move(r_.err);
        }
        if (!apply(ev)) return std::move(r_.err);
        r_.i = end;
        r_.ws();
        return r_.i;
    }

private:
    json_reader r_;
    json_stage st_;
    // Column-list cache (the binary codec's LRU, up to cache_entries lists): keyed by a hash
    // of the bytes the list was built from, its three sections one after the other
    // (names, types, primary key); `sections` says where each ends. A message whose
    // sections are byte for byte those of an entry takes its list without parsing them.
    struct cached_list {
        columns_ptr list;
        std::uint32_t names_end = 0, types_end = 0;  // in the entry's bytes; primary: the rest
        bool has_types = false, has_primary = false;
    };
    using list_cache = bin::column_cache<std::uint64_t, cached_list>;
    static constexpr std::size_t cache_entries = 64;
    static constexpr std::size_t cache_bytes = std::size_t{8} << 20;
    list_cache cache_;
    // The entry the sections read so far match (first the one used last): the images
    // met before the column sections are decoded with its list, confirmed in apply().
    list_cache::entry* sel_ = nullptr;
    unsigned sel_mask_ = 0;     // the sections found equal to sel_'s while reading (bit: section)
    json_range sel_rg_[3];      // where each of them was
    std::string key_;  // scratch: the three sections of a message, for a lookup
    // Images decoded while reading the top level with a cached list (before the column
    // sections were seen): 0 none, else the field they came from (1 new, 2 old, 3 after,
    // 4 before), and the list used.
    int spec_after_ = 0, spec_before_ = 0;
    columns_ptr spec_after_list_, spec_before_list_;
    event* ev_ = nullptr;
    int vmode_ = 0;  // value forms: 0 rowcast, 1 Debezium, 2 Maxwell, 3 smpl-repl strings
    bool from_connect_ = false;  // the column types come from a Connect schema (it says ms or µs)
    std::string wire_tmp_;
    std::vector<char> seen_;
    std::vector<std::string_view> names_tmp_;

    bool mismatch(std::size_t at, std::string_view path, std::string_view expected) {
        std::string what = "expected ";
        what += expected;
        what += ", got ";
        what += json_form_name(at < r_.n ? r_.s[at] : '\0');
        return r_.fail(errc::type_mismatch, at, path, what);
    }

    // --- scalar fields ---
    bool get_str(json_ostr& o, std::string_view path, bool allow_null = true) {
        const char c = r_.peek();
        if (c == '"') {
            o.set = true;
            return r_.read_string(o.s);
        }
        if (c == 'n' && allow_null) {
            o.set = false;
            return r_.literal("null");
        }
        return mismatch(r_.i, path, "a string");
    }
    template <class T>
    bool get_int(T& v, std::string_view path) {
        const std::size_t at = r_.i;
        const char c = r_.peek();
        if (c != '-' && !(c >= '0' && c <= '9')) return mismatch(at, path, "an integer");
        std::string_view tok;
        bool is_int;
        if (!r_.read_number(tok, is_int)) return false;
        if (!is_int) return r_.fail(errc::type_mismatch, at, path, "expected an integer, got a number with a fraction or exponent");
        auto res = std::from_chars(tok.data(), tok.data() + tok.size(), v);
        if (res.ec != std::errc{} || res.ptr != tok.data() + tok.size())
            return r_.fail(errc::invalid_value, at, path, "integer " + std::string(tok.substr(0, 40)) + " out of range");
        return true;
    }
    bool get_bool(bool& v, std::string_view path) {
        const char c = r_.peek();
        if (c == 't') return v = true, r_.literal("true");
        if (c == 'f') return v = false, r_.literal("false");
        return mismatch(r_.i, path, "a boolean");
    }
    // Time: ISO 8601 string (UTC) or integer microseconds.
    bool get_time(std::int64_t& us, std::string_view path) {
        const std::size_t at = r_.i;
        const char c = r_.peek();
        if (c == '"') {
            json_str s;
            if (!r_.read_string(s)) return false;
            timestamp t;
            if (!parse_timestamp(r_.text_of(s), t))
                return r_.fail(errc::invalid_value, at, path, "invalid time (expected YYYY-MM-DDTHH:MM:SS.ffffffZ)");
            us = t.microseconds;
            return true;
        }
        if (c == '-' || (c >= '0' && c <= '9')) return get_int(us, path);
        return mismatch(at, path, "a time string");
    }
    bool skip() { return r_.skip_value(); }
    bool range(json_range& rg) { return r_.skip_range(rg); }
    bool range_or_null(json_range& rg) {
        if (r_.peek() == 'n') {
            rg = {};
            return r_.literal("null");
        }
        return range(rg);
    }
    bool open_obj(std::string_view path) {
        if (r_.peek() != '{') return mismatch(r_.i, path, "an object");
        ++r_.i;
        return r_.enter();
    }
    // The one member loop: after '{' (and enter()), calls on(key) with the reader at each
    // member's value until '}'; on() consumes the value and returns false on error.
    template <class F>
    [[gnu::always_inline]] bool each_member(F&& on) {
        bool first = true, done = false;
        json_str k;
        while (true) {
            if (!r_.member(first, done, k)) return false;
            if (done) return true;
            if (!on(r_.text_of(k))) return false;
        }
    }
    // An object at r_.i (`path` names it in a type mismatch), member by member.
    template <class F>
    [[gnu::always_inline]] bool read_object(std::string_view path, F&& on) {
        return open_obj(path) && each_member(on);
    }
    // The one element loop: after '[' (and enter()), calls on() with the reader at each element.
    template <class F>
    [[gnu::always_inline]] bool each_element(F&& on) {
        bool first = true, done = false;
        while (true) {
            if (!r_.element(first, done)) return false;
            if (done) return true;
            if (!on()) return false;
        }
    }
    // An array at r_.i, element by element; `expected` names it in a type mismatch.
    template <class F>
    [[gnu::always_inline]] bool read_array(std::string_view path, std::string_view expected, F&& on) {
        if (r_.peek() != '[') return mismatch(r_.i, path, expected);
        ++r_.i;
        return r_.enter() && each_element(on);
    }

    // --- top level ---
    bool read_top() {
        auto& s = st_;
        return read_object("$", [&](std::string_view key) ROWCAST_JSON_INLINE {
            bool ok;
            if (key_is(key, "schema")) {
                if (r_.peek() == '{') ok = range(s.connect_schema);  // JsonConverter's schema object
                else ok = get_str(s.schema, "$.schema"), s.rowcast_fields = true;
            } else if (key_is(key, "table")) ok = get_str(s.table, "$.table"), s.rowcast_fields = true;
            else if (key_is(key, "timestamp")) {
                s.ts_at = r_.i;
                ok = get_str(s.ts_str, "$.timestamp");
                s.rowcast_fields = true;
            } else if (key_is(key, "operation")) ok = get_str(s.operation, "$.operation", false), s.rowcast_fields = true;
            else if (key_is(key, "primary")) ok = cached_range(s.primary, section::primary), s.rowcast_fields = true;
            else if (key_is(key, "columns")) ok = cached_range(s.columns, section::names), s.rowcast_fields = true;
            else if (key_is(key, "new")) ok = image_field(s.img_new, 1), s.rowcast_fields = true;
            else if (key_is(key, "old")) ok = s.mx ? range_or_null(s.img_old) : image_field(s.img_old, 2);
            else if (key_is(key, "database")) ok = get_str(s.mx_database, "$.database"), s.mx = true;
            else if (key_is(key, "type")) ok = get_str(s.mx_type, "$.type"), s.mx = true;
            else if (key_is(key, "data")) ok = range_or_null(s.mx_data), s.mx = true;
            else if (key_is(key, "ts")) ok = opt_int(s.mx_ts, s.has_mx_ts, "$.ts");
            else if (key_is(key, "xid")) ok = opt_int(s.mx_xid, s.has_mx_xid, "$.xid");
            else if (key_is(key, "xoffset")) ok = opt_int(s.mx_xoffset, s.has_mx_ts_dummy, "$.xoffset");
            else if (key_is(key, "commit")) ok = r_.peek() == 'n' ? r_.literal("null") : get_bool(s.mx_commit, "$.commit");
            else if (key_is(key, "position")) ok = get_str(s.mx_position, "$.position");
            else if (key_is(key, "gtid")) ok = get_str(s.gtid, "$.gtid");
            else if (key_is(key, "server_id")) ok = opt_int(s.server_id, s.has_mx_ts_dummy, "$.server_id");
            else if (key_is(key, "thread_id")) ok = opt_int(s.src_thread, s.has_mx_ts_dummy, "$.thread_id");
            else if (key_is(key, "primary_key_columns")) ok = range_or_null(s.mx_keys);
            else if (key_is(key, "sql")) ok = get_str(s.mx_sql, "$.sql");
            else if (key_is(key, "rowcast")) ok = read_ext();
            else if (key_is(key, "before")) ok = image_field(s.before, 4), s.dbz = true;
            else if (key_is(key, "after")) ok = image_field(s.after, 3), s.dbz = true;
            else if (key_is(key, "source")) ok = read_dbz_source(), s.dbz = true;
            else if (key_is(key, "op")) ok = get_str(s.op, "$.op"), s.dbz = true;
            else if (key_is(key, "ts_ms")) ok = opt_int(s.ts_ms, s.has_ts_ms, "$.ts_ms");
            else if (key_is(key, "ts_us")) ok = opt_int(s.ts_us, s.has_ts_us, "$.ts_us");
            else if (key_is(key, "ts_ns")) ok = skip();
            else if (key_is(key, "transaction")) ok = read_dbz_tx(), s.dbz = true;
            else if (key_is(key, "status")) ok = get_str(s.status, "$.status"), s.dbz = true;
            else if (key_is(key, "id")) ok = get_str(s.txn_id, "$.id");
            else if (key_is(key, "ddl")) ok = get_str(s.ddl, "$.ddl"), s.dbz = true;
            else if (key_is(key, "databaseName")) ok = get_str(s.database_name, "$.databaseName"), s.dbz = true;
            else if (key_is(key, "tableChanges")) ok = range(s.table_changes), s.dbz = true;
            else if (key_is(key, "event_count")) ok = opt_int(s.event_count, s.has_event_count, "$.event_count");
            else if (key_is(key, "def")) ok = range_or_null(s.mx_def);
            else if (key_is(key, "payload")) ok = range(s.payload);
            else ok = skip();
            return ok;
        });
    }
    template <class T>
    bool opt_int(T& v, bool& has, std::string_view path) {
        if (r_.peek() == 'n') {
            has = false;
            return r_.literal("null");
        }
        has = true;
        return get_int(v, path);
    }

    bool read_dbz_source() {
        auto& s = st_;
        return read_object("$.source", [&](std::string_view key) ROWCAST_JSON_INLINE {
            bool has = false;
            if (key_is(key, "db")) return get_str(s.db, "$.source.db");
            if (key_is(key, "table")) return get_str(s.src_table, "$.source.table");
            if (key_is(key, "server_id")) return opt_int(s.server_id, has, "$.source.server_id");
            if (key_is(key, "gtid")) return get_str(s.gtid, "$.source.gtid");
            if (key_is(key, "file")) return get_str(s.file, "$.source.file");
            if (key_is(key, "pos")) return opt_int(s.pos, has, "$.source.pos");
            if (key_is(key, "row")) return opt_int(s.src_row, has, "$.source.row");
            if (key_is(key, "thread")) return opt_int(s.src_thread, has, "$.source.thread");
            if (key_is(key, "query")) return get_str(s.query, "$.source.query");
            if (key_is(key, "ts_ms")) return opt_int(s.src_ts_ms, s.has_src_ts_ms, "$.source.ts_ms");
            if (key_is(key, "ts_us")) return opt_int(s.src_ts_us, s.has_src_ts_us, "$.source.ts_us");
            return skip();
        });
    }
    bool read_dbz_tx() {
        if (r_.peek() == 'n') return r_.literal("null");
        return read_object("$.transaction", [&](std::string_view key) ROWCAST_JSON_INLINE {
            bool has;
            if (key_is(key, "id")) return get_str(st_.tx_id, "$.transaction.id");
            if (key_is(key, "total_order")) return opt_int(st_.total_order, has, "$.transaction.total_order");
            return skip();
        });
    }

    bool read_ext() {
        if (!open_obj("$.rowcast")) return false;
        auto& s = st_;
        s.ext = true;
        return each_member([&](std::string_view key) ROWCAST_JSON_INLINE {
            if (key_is(key, "version")) {
                const std::size_t at = r_.i;
                std::uint64_t v = 0;
                if (!get_int(v, "$.rowcast.version")) return false;
                if (v != 1)
                    return r_.fail(errc::unsupported_version, at, "$.rowcast.version",
                                   "rowcast JSON version " + std::to_string(v) + " (this build reads version 1)");
                return true;
            }
            if (key_is(key, "sequence")) return get_int(s.x_sequence, "$.rowcast.sequence");
            if (key_is(key, "schema")) return get_str(s.x_schema, "$.rowcast.schema");
            if (key_is(key, "table")) return get_str(s.x_table, "$.rowcast.table");
            if (key_is(key, "transaction")) return read_ext_tx();
            if (key_is(key, "source")) return read_ext_source();
            if (key_is(key, "commit_time")) return get_time(s.x_commit, "$.rowcast.commit_time");
            if (key_is(key, "capture_time")) return get_time(s.x_capture, "$.rowcast.capture_time");
            if (key_is(key, "statement")) return range(s.x_statement);
            if (key_is(key, "types")) return cached_range(s.x_types, section::types);
            if (key_is(key, "columns")) return cached_range(s.x_columns, section::names);
            if (key_is(key, "keys")) return cached_range(s.x_keys, section::primary);
            if (key_is(key, "exact")) return range(s.x_exact);
            if (key_is(key, "absent_before")) return range(s.x_absent_before);
            if (key_is(key, "envelope")) {
                json_ostr e;
                if (!get_str(e, "$.rowcast.envelope")) return false;
                s.x_strict = e.set && r_.text_of(e.s) == "smpl-repl";
                return true;
            }
            return skip();
        });
    }
    bool read_ext_tx() {
        return read_object("$.rowcast.transaction", [&](std::string_view key) ROWCAST_JSON_INLINE {
            if (key_is(key, "id")) return get_str(st_.x_tx_id, "$.rowcast.transaction.id");
            if (key_is(key, "position")) return get_int(st_.x_tx_pos, "$.rowcast.transaction.position");
            if (key_is(key, "last")) return get_bool(st_.x_tx_last, "$.rowcast.transaction.last");
            if (key_is(key, "xid")) return get_int(st_.x_tx_xid, "$.rowcast.transaction.xid");
            return skip();
        });
    }
    bool read_ext_source() {
        return read_object("$.rowcast.source", [&](std::string_view key) ROWCAST_JSON_INLINE {
            if (key_is(key, "file")) return get_str(st_.x_file, "$.rowcast.source.file");
            if (key_is(key, "offset")) return get_int(st_.x_offset, "$.rowcast.source.offset");
            if (key_is(key, "gtid")) return get_str(st_.x_gtid, "$.rowcast.source.gtid");
            if (key_is(key, "server_id")) return get_int(st_.x_server_id, "$.rowcast.source.server_id");
            if (key_is(key, "row")) return get_int(st_.x_row, "$.rowcast.source.row");
            if (key_is(key, "thread")) return get_int(st_.x_thread, "$.rowcast.source.thread");
            return skip();
        });
    }
    static void put(std::string& dst, const json_ostr& o) {
        if (o.set) assign_json_str(dst, o.s);
        else dst.clear();
    }

    // --- apply the staged message to the event ---
    bool apply(event& ev) {
        auto& s = st_;
        ev.statement.clear();
        ev.sequence = 0;
        ev.transaction = {};
        ev.source.file.clear();
        ev.source.gtid.clear();
        ev.source.offset = 0;
        ev.source.server_id = 0;
        ev.source.row = 0;
        ev.source.thread = 0;
        ev.commit_time = ev.capture_time = time_point{};
        json_range img_after, img_before;
        const char* after_name;
        const char* before_name;
        const bool mx = s.mx && !s.dbz && !s.operation.set;
        const bool dbz = !mx && (s.dbz || (!s.rowcast_fields && (s.status.set || s.txn_id.set || prefer_debezium)));
        vmode_ = mx ? 2 : dbz ? 1 : s.x_strict ? 3 : 0;
        from_connect_ = false;
        if (mx) {
            if (!apply_maxwell(ev, img_after, img_before)) return false;
            after_name = "data";
            before_name = "data";
        } else if (!dbz) {
            if (!s.operation.set) return r_.fail(errc::missing_field, 0, "$.operation", "no \"operation\" field");
            if (!parse_event_kind(r_.text_of(s.operation.s), ev.kind))
                return r_.fail(errc::invalid_value, 0, "$.operation",
                               "unknown operation \"" + std::string(r_.text_of(s.operation.s).substr(0, 40)) + "\"");
            put(ev.schema, s.schema);
            put(ev.table, s.table);
            img_after = s.img_new;
            img_before = s.img_old;
            after_name = "new";
            before_name = "old";
            if (!s.ext && s.ts_str.set) {
                timestamp ts;
                if (!parse_timestamp(r_.text_of(s.ts_str.s), ts))
                    return r_.fail(errc::invalid_value, s.ts_at, "$.timestamp",
                                   "invalid timestamp (expected YYYY-MM-DD HH:MM:SS)");
                ev.commit_time = time_point{std::chrono::microseconds{ts.microseconds}};
            }
        } else {
            if (s.op.set) {
                const std::string_view op = r_.text_of(s.op.s);
                if (op == "c" || op == "r") ev.kind = event_kind::insert;
                else if (op == "u") ev.kind = event_kind::update;
                else if (op == "d") ev.kind = event_kind::delete_;
                else return r_.fail(errc::invalid_value, 0, "$.op", "unknown op \"" + std::string(op.substr(0, 40)) + "\"");
            } else if (s.status.set) {
                const std::string_view st = r_.text_of(s.status.s);
                if (st == "BEGIN") ev.kind = event_kind::begin;
                else if (st == "END" || st == "COMMIT") ev.kind = event_kind::commit;
                else if (st == "ROLLBACK") ev.kind = event_kind::rollback;
                else
                    return r_.fail(errc::invalid_value, 0, "$.status",
                                   "unknown status \"" + std::string(st.substr(0, 40)) + "\"");
            } else if (s.ddl.set || s.database_name.set) ev.kind = event_kind::ddl;
            else return r_.fail(errc::missing_field, 0, "$.op", "no \"op\", \"status\" or \"ddl\" field");
            if (ev.kind == event_kind::ddl && s.database_name.set) put(ev.schema, s.database_name);
            else put(ev.schema, s.db);
            put(ev.table, s.src_table);
            if (ev.kind == event_kind::ddl) put(ev.statement, s.ddl);
            else if (is_row_event(ev.kind)) put(ev.statement, s.query);
            img_after = s.after;
            img_before = s.before;
            after_name = "after";
            before_name = "before";
            if (!s.ext) {
                if (is_row_event(ev.kind)) {
                    put(ev.transaction.id, s.tx_id);
                    if (s.total_order > 0 && s.total_order <= 0x100000000ULL)
                        ev.transaction.position = static_cast<std::uint32_t>(s.total_order - 1);
                } else if (ev.kind != event_kind::ddl) {
                    put(ev.transaction.id, s.txn_id);
                    ev.transaction.position = s.event_count;  // END: the encoder's fallback count
                }
                put(ev.source.file, s.file);
                put(ev.source.gtid, s.gtid);
                ev.source.offset = s.pos;
                ev.source.server_id = s.server_id;
                ev.source.row = s.src_row;
                ev.source.thread = s.src_thread;
                auto us = [](bool has_us, std::int64_t v_us, bool has_ms, std::int64_t v_ms) -> std::int64_t {
                    if (has_us) return v_us;
                    if (has_ms && v_ms > -9223372036854775LL && v_ms < 9223372036854775LL) return v_ms * 1000;
                    return 0;
                };
                if (is_row_event(ev.kind) || ev.kind == event_kind::ddl) {
                    ev.commit_time = time_point{std::chrono::microseconds{us(s.has_src_ts_us, s.src_ts_us, s.has_src_ts_ms, s.src_ts_ms)}};
                    ev.capture_time = time_point{std::chrono::microseconds{us(s.has_ts_us, s.ts_us, s.has_ts_ms, s.ts_ms)}};
                } else {
                    ev.commit_time = time_point{std::chrono::microseconds{us(false, 0, s.has_ts_ms, s.ts_ms)}};
                }
            }
        }
        if (s.ext) {
            if (s.x_schema.set || mx) put(ev.schema, s.x_schema.set ? s.x_schema : s.mx_database);
            if (s.x_table.set) put(ev.table, s.x_table);
            ev.sequence = s.x_sequence;
            put(ev.transaction.id, s.x_tx_id);
            ev.transaction.position = s.x_tx_pos;
            ev.transaction.last = s.x_tx_last;
            ev.transaction.xid = s.x_tx_xid;
            put(ev.source.file, s.x_file);
            put(ev.source.gtid, s.x_gtid);
            ev.source.offset = s.x_offset;
            ev.source.server_id = s.x_server_id;
            ev.source.row = s.x_row;
            ev.source.thread = s.x_thread;
            ev.commit_time = time_point{std::chrono::microseconds{s.x_commit}};
            ev.capture_time = time_point{std::chrono::microseconds{s.x_capture}};
            if (s.x_statement.present() && !read_statement(ev.statement)) return false;
        }

        // Images required/forbidden by the kind.
        const bool need_after = ev.kind == event_kind::insert || ev.kind == event_kind::update;
        const bool need_before = ev.kind == event_kind::update || ev.kind == event_kind::delete_;
        if (need_after && !img_after.present())
            return r_.fail(errc::missing_field, 0, std::string("$.") + after_name,
                           std::string("a ") + std::string(to_string(ev.kind)) + " event needs a \"" + after_name + "\" image");
        if (need_before && !img_before.present())
            return r_.fail(errc::missing_field, 0, std::string("$.") + before_name,
                           std::string("a ") + std::string(to_string(ev.kind)) + " event needs a \"" + before_name + "\" image");
        if (!need_after && img_after.present())
            return r_.fail(errc::invalid_value, img_after.b, std::string("$.") + after_name,
                           std::string("a ") + std::string(to_string(ev.kind)) + " event has no \"" + after_name + "\" image");
        if (!need_before && img_before.present())
            return r_.fail(errc::invalid_value, img_before.b, std::string("$.") + before_name,
                           std::string("a ") + std::string(to_string(ev.kind)) + " event has no \"" + before_name + "\" image");

        // Column list.
        const json_range names = s.columns.present() ? s.columns : s.x_columns;
        const json_range primary = s.ext && s.x_keys.present() ? s.x_keys
                                   : s.primary.present()       ? s.primary
                                   : mx                        ? s.mx_keys
                                                               : s.x_keys;
        const char* primary_path = primary.b == s.primary.b ? "$.primary" : primary.b == s.mx_keys.b ? "$.primary_key_columns" : "$.rowcast.keys";
        const char* names_path = s.columns.present() ? "$.columns" : "$.rowcast.columns";
        if (!names.present() && !s.x_types.present() && dbz && is_row_event(ev.kind) && s.connect_schema.present() &&
            !columns_from_connect(s.connect_schema, ev.columns, from_connect_))
            return false;
        if (names.present()) {
            if (!columns_from(names, s.x_types, primary, names_path, primary_path, ev.columns)) return false;
        } else if (s.x_types.present()) {
            return r_.fail(errc::missing_field, s.x_types.b, "$.rowcast.types", "column types without column names");
        } else if (from_connect_) {
            // typed by the Connect schema
        } else if (is_row_event(ev.kind)) {
            std::vector<column> cols;
            if (img_after.present() && !collect_names(img_after, after_name, cols)) return false;
            if (img_before.present() && !collect_names(img_before, before_name, cols)) return false;
            if (mx && s.img_old.present() && ev.kind == event_kind::update && !collect_names(s.img_old, "old", cols))
                return false;
            if (primary.present() && !mark_primary(primary, cols, primary_path)) return false;
            ev.columns = make_columns(std::move(cols));
        } else {
            ev.columns.reset();
        }
        if (ev.kind == event_kind::ddl && !names.present()) {
            if (dbz && s.table_changes.present() && !columns_from_table_changes(s.table_changes, ev.columns)) return false;
            if (mx && s.mx_def.present() && !columns_from_maxwell_def(s.mx_def, ev.columns)) return false;
        }
        static const column_list empty_list;
        const column_list& cols = ev.columns ? *ev.columns : empty_list;
        const int after_field = mx ? 99 : s.dbz || dbz ? 3 : 1, before_field = mx ? 99 : s.dbz || dbz ? 4 : 2;
        const bool spec_after = ev.columns && spec_after_ == after_field && spec_after_list_ == ev.columns;
        const bool spec_before = ev.columns && spec_before_ == before_field && spec_before_list_ == ev.columns;
        if (need_after) {
            if (!spec_after && !read_image(img_after, cols, ev.after, after_name)) return false;
        } else ev.after.clear();
        if (need_before) {
            if (mx && ev.kind == event_kind::update) ev.before.assign(cols.size(), absent{});  // below: data + old
            else if (!spec_before && !read_image(img_before, cols, ev.before, before_name)) return false;
        } else ev.before.clear();
        if (s.x_exact.present() && !apply_exact(cols, ev, mx && ev.kind == event_kind::update)) return false;
        if (mx && ev.kind == event_kind::update) {
            ev.before = ev.after;  // data (with its exact values), then the changed columns
            vmode_ = 2;
            if (s.img_old.present() && !read_image(s.img_old, cols, ev.before, "old", true)) return false;
            if (s.x_exact.present() && !apply_exact(cols, ev, false, true)) return false;
            if (s.x_absent_before.present()) {
                r_.i = s.x_absent_before.b;
                const bool ok = read_array("$.rowcast.absent_before", "an array of column names", [&]() ROWCAST_JSON_INLINE {
                    if (r_.peek() != '"') return mismatch(r_.i, "$.rowcast.absent_before", "a column name string");
                    json_str str;
                    if (!r_.read_string(str)) return false;
                    const auto idx = cols.find(r_.text_of(str));
                    if (!idx) return r_.fail(errc::invalid_value, r_.i, "$.rowcast.absent_before", "not a column of the table");
                    ev.before[*idx] = absent{};
                    return true;
                });
                if (!ok) return false;
            }
        }
        return true;
    }

    // Column list from a Kafka Connect schema (JsonConverter, schemas.enable=true): the
    // fields of the envelope's "after" (else "before") struct, typed by their Connect type
    // and Debezium's semantic names (docs/json.md "Decoding Debezium messages").
    // `found` false (no error): the schema has no such struct; the names then come from the images.
    bool columns_from_connect(json_range schema, columns_ptr& out, bool& found) {
        found = false;
        r_.i = schema.b;
        json_range row;
        bool row_is_after = false;
        const bool ok = read_object("$.schema", [&](std::string_view key) ROWCAST_JSON_INLINE {
            if (!key_is(key, "fields")) return skip();
            return read_array("$.schema.fields", "an array of fields", [&]() ROWCAST_JSON_INLINE {
                json_ostr name;
                json_range fields;
                const bool ok2 = read_object("$.schema.fields[]", [&](std::string_view k) ROWCAST_JSON_INLINE {
                    if (key_is(k, "field")) return get_str(name, "$.schema.fields[].field");
                    if (key_is(k, "fields")) return range(fields);
                    return skip();
                });
                if (!ok2) return false;
                if (!name.set || !fields.present()) return true;
                const std::string_view n = r_.text_of(name.s);
                if (n == "after" || (n == "before" && !row_is_after)) row = fields, row_is_after = n == "after";
                return true;
            });
        });
        if (!ok) return false;
        if (!row.present()) return true;
        std::vector<column> cols;
        r_.i = row.b;
        const bool ok3 = read_array("$.schema.fields[after].fields", "an array of fields", [&]() ROWCAST_JSON_INLINE {
            if (cols.size() >= max_columns)
                return r_.fail(errc::limit_exceeded, r_.i, "$.schema", "more than max_columns (" + std::to_string(max_columns) + ") columns");
            return connect_field(cols.emplace_back());
        });
        if (!ok3 || !unique_names(cols, row.b, "$.schema")) return false;
        out = make_columns(std::move(cols));
        found = true;
        return true;
    }
    bool connect_field(column& c) {
        const std::string path = "$.schema.fields[after].fields[]";
        json_ostr type, name, field;
        bool optional = true;
        std::string scale, precision, length, allowed;
        const bool ok = read_object(path, [&](std::string_view k) ROWCAST_JSON_INLINE {
            if (key_is(k, "type")) return get_str(type, path + ".type", false);
            if (key_is(k, "name")) return get_str(name, path + ".name");
            if (key_is(k, "field")) return get_str(field, path + ".field", false);
            if (key_is(k, "optional")) return get_bool(optional, path + ".optional");
            if (key_is(k, "parameters"))
                return read_object(path + ".parameters", [&](std::string_view pk) ROWCAST_JSON_INLINE {
                    std::string* dst = key_is(pk, "scale")                       ? &scale
                                       : key_is(pk, "connect.decimal.precision") ? &precision
                                       : key_is(pk, "length")                    ? &length
                                       : key_is(pk, "allowed")                   ? &allowed
                                                                                 : nullptr;
                    if (!dst) return skip();
                    json_ostr v;
                    if (!get_str(v, path + ".parameters", false)) return false;
                    assign_json_str(*dst, v.s);
                    return true;
                });
            return skip();
        });
        if (!ok) return false;
        if (!field.set || !type.set) return r_.fail(errc::missing_field, r_.i, path, "a field needs \"field\" and \"type\"");
        assign_json_str(c.name, field.s);
        c.nullable = optional;
        const std::string_view ty = r_.text_of(type.s);
        const std::string_view nm = name.set ? r_.text_of(name.s) : std::string_view{};
        column_type& t = c.type;
        auto num = [](const std::string& v, auto& dst) {
            std::from_chars(v.data(), v.data() + v.size(), dst);
        };
        auto members = [&] {
            for_each_set_name(allowed, [&](std::string_view m) { t.members.emplace_back(m); });
        };
        if (nm == "io.debezium.time.Year") t.type = sql_type::year;
        else if (nm == "io.debezium.time.Date" || nm == "org.apache.kafka.connect.data.Date") t.type = sql_type::date;
        else if (nm == "io.debezium.time.Time" || nm == "org.apache.kafka.connect.data.Time") t.type = sql_type::time, t.fsp = 3;
        else if (nm == "io.debezium.time.MicroTime") t.type = sql_type::time, t.fsp = 6;
        else if (nm == "io.debezium.time.Timestamp" || nm == "org.apache.kafka.connect.data.Timestamp")
            t.type = sql_type::datetime, t.fsp = 3;
        else if (nm == "io.debezium.time.MicroTimestamp") t.type = sql_type::datetime, t.fsp = 6;
        else if (nm == "io.debezium.time.ZonedTimestamp") t.type = sql_type::timestamp, t.fsp = 6;
        else if (nm == "io.debezium.data.Json") t.type = sql_type::json;
        else if (nm == "io.debezium.data.Enum") t.type = sql_type::enum_, members();
        else if (nm == "io.debezium.data.EnumSet") t.type = sql_type::set, members();
        else if (nm == "io.debezium.data.Bits") {
            t.type = sql_type::bit;
            num(length, t.length);
            if (t.length == 0 || t.length > 64) t.length = 64;
        } else if (nm == "org.apache.kafka.connect.data.Decimal") {
            t.type = sql_type::decimal;
            num(scale, t.scale);
            num(precision, t.precision);
        } else if (nm == "io.debezium.data.geometry.Geometry" || nm == "io.debezium.data.geometry.Point")
            t.type = sql_type::geometry;
        else if (ty == "int8") t.type = sql_type::tinyint;
        else if (ty == "int16") t.type = sql_type::smallint;
        else if (ty == "int32") t.type = sql_type::int_;
        else if (ty == "int64") t.type = sql_type::bigint;
        else if (ty == "float32") t.type = sql_type::float_;
        else if (ty == "float64") t.type = sql_type::double_;
        else if (ty == "boolean") t.type = sql_type::bit, t.length = 1;
        else if (ty == "bytes") t.type = sql_type::varbinary;
        else if (ty == "string") t.type = sql_type::varchar;
        else t.type = sql_type::unknown;  // struct, array, map: kept as JSON text
        return true;
    }

    // A schema change's table after it: Debezium's tableChanges[0].table (columns with
    // typeName, length, scale, charsetName, optional; primaryKeyColumnNames). None: no list.
    bool columns_from_table_changes(json_range rg, columns_ptr& out) {
        r_.i = rg.b;
        json_range table;
        const bool ok = read_array("$.tableChanges", "an array of table changes", [&]() ROWCAST_JSON_INLINE {
            return read_object("$.tableChanges[]", [&](std::string_view k) ROWCAST_JSON_INLINE {
                return key_is(k, "table") && !table.present() ? range_or_null(table) : skip();
            });
        });
        if (!ok || !table.present()) return ok;
        r_.i = table.b;
        std::vector<column> cols;
        json_range pk;
        const bool ok2 = read_object("$.tableChanges[0].table", [&](std::string_view k) ROWCAST_JSON_INLINE {
            if (key_is(k, "primaryKeyColumnNames")) return range_or_null(pk);
            if (!key_is(k, "columns")) return skip();
            return read_array("$.tableChanges[0].table.columns", "an array of columns", [&]() ROWCAST_JSON_INLINE {
                if (cols.size() >= max_columns)
                    return r_.fail(errc::limit_exceeded, r_.i, "$.tableChanges", "more than max_columns columns");
                column& c = cols.emplace_back();
                const std::string path = "$.tableChanges[0].table.columns[]";
                return read_object(path, [&](std::string_view f) ROWCAST_JSON_INLINE {
                    bool has = false;
                    if (key_is(f, "name") || key_is(f, "typeName") || key_is(f, "charsetName")) {
                        json_ostr v;
                        if (!get_str(v, path)) return false;
                        if (!v.set) return true;
                        if (key_is(f, "name")) assign_json_str(c.name, v.s);
                        else if (key_is(f, "charsetName")) assign_json_str(c.type.charset, v.s);
                        else c.type.type = sql_type_of_name(r_.text_of(v.s));
                        return true;
                    }
                    if (key_is(f, "length")) return opt_int(c.type.length, has, path + ".length");
                    if (key_is(f, "scale")) {
                        std::uint8_t sc = 0;
                        if (!opt_int(sc, has, path + ".scale")) return false;
                        c.type.scale = sc;
                        return true;
                    }
                    if (key_is(f, "optional")) return get_bool(c.nullable, path + ".optional");
                    if (key_is(f, "enumValues")) return r_.peek() == 'n' ? r_.literal("null") : read_members(c.type, path + ".enumValues");
                    return skip();
                });
            });
        });
        if (!ok2 || !unique_names(cols, table.b, "$.tableChanges[0].table.columns")) return false;
        for (auto& c : cols)
            if (c.type.type == sql_type::decimal) c.type.precision = static_cast<std::uint8_t>(c.type.length), c.type.length = 0;
        if (pk.present() && !mark_primary(pk, cols, "$.tableChanges[0].table.primaryKeyColumnNames")) return false;
        out = make_columns(std::move(cols));
        return true;
    }
    // Maxwell's "def": columns (type, name, signed, charset, column-length) and primary-key.
    bool columns_from_maxwell_def(json_range rg, columns_ptr& out) {
        r_.i = rg.b;
        std::vector<column> cols;
        json_range pk;
        const bool ok = read_object("$.def", [&](std::string_view k) ROWCAST_JSON_INLINE {
            if (key_is(k, "primary-key")) return range_or_null(pk);
            if (!key_is(k, "columns")) return skip();
            return read_array("$.def.columns", "an array of columns", [&]() ROWCAST_JSON_INLINE {
                if (cols.size() >= max_columns)
                    return r_.fail(errc::limit_exceeded, r_.i, "$.def", "more than max_columns columns");
                column& c = cols.emplace_back();
                return read_object("$.def.columns[]", [&](std::string_view f) ROWCAST_JSON_INLINE {
                    if (key_is(f, "name") || key_is(f, "type") || key_is(f, "charset")) {
                        json_ostr v;
                        if (!get_str(v, "$.def.columns[]")) return false;
                        if (!v.set) return true;
                        if (key_is(f, "name")) assign_json_str(c.name, v.s);
                        else if (key_is(f, "charset")) assign_json_str(c.type.charset, v.s);
                        else c.type.type = sql_type_of_name(r_.text_of(v.s));
                        return true;
                    }
                    if (key_is(f, "signed")) {
                        bool sg = true;
                        if (!get_bool(sg, "$.def.columns[].signed")) return false;
                        c.type.is_unsigned = !sg;
                        return true;
                    }
                    if (key_is(f, "column-length")) return get_int(c.type.fsp, "$.def.columns[].column-length");
                    if (key_is(f, "enum-values")) return read_members(c.type, "$.def.columns[].enum-values");
                    return skip();
                });
            });
        });
        if (!ok || !unique_names(cols, rg.b, "$.def.columns")) return false;
        if (pk.present() && !mark_primary(pk, cols, "$.def.primary-key")) return false;
        out = make_columns(std::move(cols));
        return true;
    }
    // An SQL type name in any case ("INT", "varchar"); unknown for anything else.
    static sql_type sql_type_of_name(std::string_view n) {
        std::string lower(n.substr(0, 32));
        for (auto& ch : lower) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        return parse_sql_type(lower).value_or(sql_type::unknown);
    }

    // The "exact" forms of the values the envelope could not carry, over the images read.
    // Maxwell: the before image is data + old, so its exact forms are applied after old.
    bool apply_exact(const column_list& cols, event& ev, bool skip_before, bool only_before = false) {
        r_.i = st_.x_exact.b;
        vmode_ = 0;
        return read_object("$.rowcast.exact", [&](std::string_view key) ROWCAST_JSON_INLINE {
            const bool after = key_is(key, "after");
            if (!after && !key_is(key, "before")) return skip();
            if ((after && only_before) || (!after && skip_before && !only_before)) return skip();
            std::vector<value>& img = after ? ev.after : ev.before;
            json_range rg;
            const std::size_t at = r_.i;
            if (!range(rg)) return false;
            if (img.size() != cols.size())
                return r_.fail(errc::invalid_value, at, std::string("$.rowcast.exact.") + std::string(key),
                               "exact values for an image the event does not have");
            const std::size_t end = r_.i;
            if (!read_image(rg, cols, img, after ? "rowcast.exact.after" : "rowcast.exact.before", true)) return false;
            r_.i = end;
            return true;
        });
    }

    // Maxwell: kind, names, position, time and the images ("data", "old").
    bool apply_maxwell(event& ev, json_range& img_after, json_range& img_before) {
        auto& s = st_;
        if (!s.mx_type.set) return r_.fail(errc::missing_field, 0, "$.type", "no \"type\" field");
        const std::string_view ty = r_.text_of(s.mx_type.s);
        auto starts = [&](std::string_view p) { return ty.substr(0, p.size()) == p; };
        if (ty == "insert" || ty == "bootstrap-insert") ev.kind = event_kind::insert;
        else if (ty == "update") ev.kind = event_kind::update;
        else if (ty == "delete") ev.kind = event_kind::delete_;
        else if (starts("table-") || starts("database-")) ev.kind = event_kind::ddl;
        else if (ty == "transaction-begin") ev.kind = event_kind::begin;
        else if (ty == "transaction-commit") ev.kind = event_kind::commit;
        else if (ty == "transaction-rollback") ev.kind = event_kind::rollback;
        else return r_.fail(errc::invalid_value, 0, "$.type", "unknown Maxwell type \"" + std::string(ty.substr(0, 40)) + "\"");
        put(ev.schema, s.mx_database);
        put(ev.table, s.table);
        if (ev.kind == event_kind::ddl) put(ev.statement, s.mx_sql);
        if (!s.ext) {
            if (s.has_mx_xid && s.mx_xid) {  // the InnoDB XID; also the transaction's id
                ev.transaction.xid = s.mx_xid;
                ev.transaction.id = std::to_string(s.mx_xid);
            }
            ev.transaction.position = s.mx_xoffset;
            ev.transaction.last = s.mx_commit;
            if (s.mx_position.set) {
                const std::string_view p = r_.text_of(s.mx_position.s);
                const std::size_t colon = p.rfind(':');
                std::uint64_t off = 0;
                if (colon != std::string_view::npos &&
                    std::from_chars(p.data() + colon + 1, p.data() + p.size(), off).ptr == p.data() + p.size()) {
                    ev.source.file.assign(p.substr(0, colon));
                    ev.source.offset = off;
                } else ev.source.file.assign(p);
            }
            put(ev.source.gtid, s.gtid);
            ev.source.server_id = s.server_id;
            ev.source.thread = s.src_thread;
            if (s.has_mx_ts) {
                const std::int64_t mul = ev.kind == event_kind::ddl ? 1000 : 1000000;
                if (s.mx_ts > -9223372036854LL && s.mx_ts < 9223372036854LL)
                    ev.commit_time = time_point{std::chrono::microseconds{s.mx_ts * mul}};
            }
        }
        if (is_row_event(ev.kind)) {
            if (!s.mx_data.present()) return r_.fail(errc::missing_field, 0, "$.data", "a row event needs \"data\"");
            if (ev.kind != event_kind::delete_) img_after = s.mx_data;
            if (ev.kind != event_kind::insert) img_before = s.mx_data;
        }
        return true;
    }

    bool read_statement(std::string& out) {
        r_.i = st_.x_statement.b;
        const char c = r_.peek();
        if (c == '"') {
            json_str str;
            if (!r_.read_string(str)) return false;
            assign_json_str(out, str);
            return true;
        }
        if (c == '{') {
            json_range b64;
            if (!b64_object(b64, "$.rowcast.statement")) return false;
            out.clear();
            return b64_decode(b64, out, "$.rowcast.statement");
        }
        return mismatch(r_.i, "$.rowcast.statement", "a string or {\"base64\": …}");
    }
    // {"base64":"…"} -> range of the base64 string.
    bool b64_object(json_range& b64, std::string_view path) {
        const bool ok = read_object(path, [&](std::string_view key) ROWCAST_JSON_INLINE {
            return key == "base64" ? range(b64) : skip();
        });
        if (!ok) return false;
        if (!b64.present()) return r_.fail(errc::missing_field, r_.i, path, "no \"base64\" field");
        return true;
    }
    bool b64_decode(json_range rg, std::string& out, std::string_view path) {
        r_.i = rg.b;
        if (r_.peek() != '"') return mismatch(rg.b, path, "a base64 string");
        json_str str;
        if (!r_.read_string(str)) return false;
        if (!decode_base64(r_.text_of(str), out)) return r_.fail(errc::invalid_value, rg.b, path, "invalid base64");
        return true;
    }

    // --- column lists ---
    enum class section { names, types, primary };
    // The bytes of section `w` of a cache entry (empty, with has = false, when the list had none).
    static std::string_view section_of(const list_cache::entry& m, section w, bool& has) {
        const cached_list& c = m.payload;
        const std::string_view all = m.bytes;
        switch (w) {
            case section::names: has = true; return all.substr(0, c.names_end);
            case section::types: has = c.has_types; return all.substr(c.names_end, c.types_end - c.names_end);
            default: has = c.has_primary; return all.substr(c.types_end);
        }
    }
    bool section_is(const list_cache::entry& m, section w, json_range rg) const {
        bool has = false;
        const std::string_view b = section_of(m, w, has);
        if (rg.present() != has) return false;
        return !has || std::string_view(r_.s + rg.b, rg.e - rg.b) == b;
    }
    bool same_list(const list_cache::entry& m, json_range names, json_range types, json_range primary) const {
        return m.payload.list && section_is(m, section::names, names) && section_is(m, section::types, types) &&
               section_is(m, section::primary, primary);
    }
    // Section w, at `rg`, was found equal to that section of sel_ while reading (no second comparison).
    bool matched(section w, json_range rg) const {
        const auto i = static_cast<std::size_t>(w);
        return (sel_mask_ >> i & 1u) && sel_rg_[i].b == rg.b && sel_rg_[i].e == rg.e;
    }
    bool selected_is(json_range names, json_range types, json_range primary) const {
        if (!sel_ || !sel_->payload.list || !matched(section::names, names)) return false;
        const cached_list& c = sel_->payload;
        if (c.has_types != types.present() || (types.present() && !matched(section::types, types))) return false;
        return c.has_primary == primary.present() && (!primary.present() || matched(section::primary, primary));
    }
    bool columns_from(json_range names, json_range types, json_range primary, const char* names_path,
                      const char* primary_path, columns_ptr& out) {
        if (selected_is(names, types, primary) || (sel_ && same_list(*sel_, names, types, primary))) {  // the entry the sections matched while reading
            if (out != sel_->payload.list) out = sel_->payload.list;
            cache_.touch(*sel_);
            return true;
        }
        key_.assign(r_.s + names.b, names.e - names.b);
        cached_list c;
        c.names_end = static_cast<std::uint32_t>(key_.size());
        c.has_types = types.present();
        if (c.has_types) key_.append(r_.s + types.b, types.e - types.b);
        c.types_end = static_cast<std::uint32_t>(key_.size());
        c.has_primary = primary.present();
        if (c.has_primary) key_.append(r_.s + primary.b, primary.e - primary.b);
        const std::uint64_t h = bin::hash_bytes(reinterpret_cast<const unsigned char*>(key_.data()), key_.size());
        std::size_t slot;
        if (auto* m = cache_.find(h, slot); m && m->bytes == key_ && same_list(*m, names, types, primary)) {
            cache_.touch(slot);
            if (out != m->payload.list) out = m->payload.list;
            return true;
        }  // else new, or a hash collision: put() replaces that entry
        std::vector<column> cols;
        if (!read_names(names, names_path, cols)) return false;
        if (types.present() && !read_types(types, cols)) return false;
        if (primary.present() && !mark_primary(primary, cols, primary_path)) return false;
        out = make_columns(std::move(cols));
        if (key_.size() > cache_bytes) return true;
        c.list = out;
        cache_.put(slot, h, key_, std::move(c), cache_entries, cache_bytes);
        return true;
    }
    // A column section equal byte for byte to that section of a cached list (the selected
    // one first, then the others) is taken by one comparison, and selects that list (a
    // validated JSON array/object/string is self-delimiting); else it is scanned.
    bool cached_range(json_range& rg, section w) {
        std::size_t len = 0;
        auto matches = [&](const list_cache::entry& m) {
            bool has = false;
            const std::string_view b = section_of(m, w, has);
            len = b.size();
            return has && len > 0 && r_.n - r_.i >= len && std::memcmp(r_.s + r_.i, b.data(), len) == 0;
        };
        list_cache::entry* hit = sel_ && matches(*sel_) ? sel_ : nullptr;
        for (std::size_t i = 0; !hit && i < cache_.size(); ++i)
            if (matches(cache_.at(i))) hit = &cache_.at(i);
        if (!hit) return range(rg);
        if (hit != sel_) sel_mask_ = 0;
        sel_ = hit;
        rg.b = r_.i;
        r_.i += len;
        rg.e = r_.i;
        sel_mask_ |= 1u << static_cast<unsigned>(w);
        sel_rg_[static_cast<std::size_t>(w)] = rg;
        return true;
    }
    // An image met before the column sections: decode it now with the selected cached
    // list (confirmed or redone in apply()), else remember its range.
    bool image_field(json_range& rg, int field) {
        if (r_.peek() == 'n') {
            rg = {};
            return r_.literal("null");
        }
        if (sel_ && sel_->payload.list && r_.peek() == '{') {
            const std::size_t start = r_.i, depth = r_.depth;
            vmode_ = field >= 3 ? 1 : 0;  // rowcast values in "new"/"old", Debezium's in "before"/"after"
            const bool after = field == 1 || field == 3;
            rg.b = start;
            if (read_image(rg, *sel_->payload.list, after ? ev_->after : ev_->before, "")) {
                rg.e = r_.i;
                (after ? spec_after_ : spec_before_) = field;
                (after ? spec_after_list_ : spec_before_list_) = sel_->payload.list;
                return true;
            }
            r_.i = start;
            r_.depth = depth;
            (after ? spec_after_ : spec_before_) = 0;
        }
        return range(rg);
    }

    bool read_names(json_range rg, std::string_view path, std::vector<column>& cols) {
        r_.i = rg.b;
        const bool ok = read_array(path, "an array of column names", [&]() ROWCAST_JSON_INLINE {
            if (cols.size() >= max_columns)
                return r_.fail(errc::limit_exceeded, r_.i, path, "more than max_columns (" + std::to_string(max_columns) + ") columns");
            if (r_.peek() != '"') return mismatch(r_.i, std::string(path) + "[" + std::to_string(cols.size()) + "]", "a column name string");
            json_str str;
            if (!r_.read_string(str)) return false;
            column c;
            assign_json_str(c.name, str);
            cols.push_back(std::move(c));
            return true;
        });
        return ok && unique_names(cols, rg.b, path);
    }
    // Duplicate names would make images ambiguous.
    bool unique_names(const std::vector<column>& cols, std::size_t at, std::string_view path) {
        names_tmp_.clear();
        for (const auto& c : cols) names_tmp_.push_back(c.name);
        std::sort(names_tmp_.begin(), names_tmp_.end());
        for (std::size_t i = 1; i < names_tmp_.size(); ++i)
            if (names_tmp_[i] == names_tmp_[i - 1])
                return r_.fail(errc::invalid_value, at, path,
                               "duplicate column name \"" + std::string(names_tmp_[i].substr(0, 64)) + "\"");
        return true;
    }
    bool read_types(json_range rg, std::vector<column>& cols) {
        r_.i = rg.b;
        std::size_t idx = 0;
        const bool ok = read_array("$.rowcast.types", "an array of column types", [&]() ROWCAST_JSON_INLINE {
            if (idx >= cols.size())
                return r_.fail(errc::invalid_value, r_.i, "$.rowcast.types",
                               "more types than the " + std::to_string(cols.size()) + " columns");
            if (!read_type(cols[idx], idx)) return false;
            ++idx;
            return true;
        });
        if (!ok) return false;
        if (idx != cols.size())
            return r_.fail(errc::invalid_value, rg.b, "$.rowcast.types",
                           std::to_string(idx) + " types for " + std::to_string(cols.size()) + " columns");
        return true;
    }
    bool read_type(column& c, std::size_t idx) {
        const std::string path = "$.rowcast.types[" + std::to_string(idx) + "]";
        bool have_type = false;
        column_type& t = c.type;
        const bool ok = read_object(path, [&](std::string_view key) ROWCAST_JSON_INLINE {
            const std::size_t at = r_.i;
            if (key_is(key, "type")) {
                json_ostr s;
                if (!get_str(s, path + ".type", false)) return false;
                const auto ty = parse_sql_type(r_.text_of(s.s));
                if (!ty)
                    return r_.fail(errc::invalid_value, at, path + ".type",
                                   "unknown SQL type \"" + std::string(r_.text_of(s.s).substr(0, 40)) + "\"");
                t.type = *ty;
                have_type = true;
                return true;
            }
            if (key_is(key, "unsigned")) return get_bool(t.is_unsigned, path + ".unsigned");
            if (key_is(key, "nullable")) return get_bool(c.nullable, path + ".nullable");
            if (key_is(key, "length")) return get_int(t.length, path + ".length");
            if (key_is(key, "precision")) return get_int(t.precision, path + ".precision");
            if (key_is(key, "scale")) return get_int(t.scale, path + ".scale");
            if (key_is(key, "fsp")) return get_int(t.fsp, path + ".fsp");
            if (key_is(key, "charset") || key_is(key, "geometry_type")) {
                json_ostr s;
                if (!get_str(s, path + "." + std::string(key), false)) return false;
                assign_json_str(key_is(key, "charset") ? t.charset : t.geometry_type, s.s);
                return true;
            }
            if (key_is(key, "members")) return read_members(t, path + ".members");
            return skip();
        });
        if (!ok) return false;
        if (!have_type) return r_.fail(errc::missing_field, r_.i, path + ".type", "no \"type\" field");
        return true;
    }
    bool read_members(column_type& t, const std::string& path) {
        return read_array(path, "an array of strings", [&]() ROWCAST_JSON_INLINE {
            if (r_.peek() != '"') return mismatch(r_.i, path, "a member name string");
            json_str m;
            if (!r_.read_string(m)) return false;
            if (t.members.size() >= 65535) return r_.fail(errc::limit_exceeded, r_.i, path, "more than 65535 members");
            assign_json_str(t.members.emplace_back(), m);
            return true;
        });
    }
    bool mark_primary(json_range rg, std::vector<column>& cols, std::string_view path) {
        r_.i = rg.b;
        auto mark = [&](std::size_t at) {
            json_str str;
            if (!r_.read_string(str)) return false;
            const std::string_view name = r_.text_of(str);
            for (auto& c : cols)
                if (c.name == name) {
                    c.primary_key = true;
                    return true;
                }
            return r_.fail(errc::invalid_value, at, path,
                           "primary key column \"" + std::string(name.substr(0, 64)) + "\" is not among the columns");
        };
        const char c = r_.peek();
        if (c == 'n') return r_.literal("null");
        if (c == '"') return mark(r_.i);
        return read_array(path, "a column name or an array of names", [&]() ROWCAST_JSON_INLINE {
            if (r_.peek() != '"') return mismatch(r_.i, path, "a column name string");
            return mark(r_.i);
        });
    }
    bool collect_names(json_range rg, std::string_view img, std::vector<column>& cols) {
        r_.i = rg.b;
        const std::string path = std::string("$.") + std::string(img);
        return read_object(path, [&](std::string_view name) ROWCAST_JSON_INLINE {
            bool found = false;
            for (const auto& c : cols) found = found || c.name == name;
            if (!found) {
                if (cols.size() >= max_columns)
                    return r_.fail(errc::limit_exceeded, r_.i, path,
                                   "more than max_columns (" + std::to_string(max_columns) + ") columns");
                column c;
                c.name = name;
                cols.push_back(std::move(c));
            }
            return skip();
        });
    }
    // --- images and values ---
    std::string vpath(std::string_view img, std::string_view col) {
        std::string p = "$.";
        p += img;
        p += '.';
        p += col;
        return p;
    }
    // overlay: the values present replace those of `img` (already sized); the others stay.
    bool read_image(json_range rg, const column_list& cols, std::vector<value>& img, std::string_view name,
                    bool overlay = false) {
        r_.i = rg.b;
        if (r_.peek() != '{') return mismatch(r_.i, std::string("$.") + std::string(name), "an object");
        ++r_.i;
        if (!r_.enter()) return false;
        const std::size_t n = cols.size();
        if (!overlay) img.resize(n);
        seen_.assign(n, 0);
        std::size_t guess = 0;
        const bool ok = each_member([&](std::string_view key) ROWCAST_JSON_INLINE {
            std::size_t idx = guess;
            if (idx >= n || cols[idx].name != key) {
                idx = n;
                for (std::size_t j = 0; j < n; ++j)
                    if (cols[j].name == key) {
                        idx = j;
                        break;
                    }
                if (idx == n)
                    return r_.fail(errc::invalid_value, r_.i, vpath(name, key),
                                   "\"" + std::string(key.substr(0, 64)) + "\" is not a column of the table");
            }
            if (seen_[idx]) return r_.fail(errc::invalid_value, r_.i, vpath(name, key), "duplicate column in image");
            seen_[idx] = 1;
            if (!read_value(img[idx], cols[idx], name)) return false;
            guess = idx + 1;
            return true;
        });
        if (!ok) return false;
        if (!overlay)
            for (std::size_t j = 0; j < n; ++j)
                if (!seen_[j]) img[j] = absent{};
        return true;
    }

    static std::string_view expected_form(value_kind k) noexcept {
        switch (k) {
            case value_kind::int64:
            case value_kind::uint64: return "an integer";
            case value_kind::float32:
            case value_kind::float64: return "a number";
            case value_kind::decimal: return "a decimal string";
            case value_kind::bytes: return "an object {\"base64\": …}";
            case value_kind::date: return "a date string";
            case value_kind::time: return "a time string";
            case value_kind::datetime: return "a datetime string";
            case value_kind::timestamp: return "a timestamp string";
            case value_kind::year: return "a year number";
            case value_kind::bit: return "a number";
            case value_kind::enumeration: return "a member name string";
            case value_kind::set: return "an array of member names";
            case value_kind::geometry: return "an object {\"srid\": …, \"wkb\": …}";
            default: return "a string";
        }
    }
    bool vmismatch(std::size_t at, std::string_view img, const column& c) {
        std::string what = "expected ";
        what += expected_form(c.type.natural_kind());
        what += " for column ";
        what += c.name;
        what += " (";
        append_type_desc(what, c.type);
        what += "), got ";
        what += json_form_name(at < r_.n ? r_.s[at] : '\0');
        return r_.fail(errc::type_mismatch, at, vpath(img, c.name), what);
    }
    bool vinvalid(std::size_t at, std::string_view img, const column& c, std::string_view what) {
        std::string w(what);
        w += " for column ";
        w += c.name;
        w += " (";
        append_type_desc(w, c.type);
        w += ')';
        return r_.fail(errc::invalid_value, at, vpath(img, c.name), w);
    }

    // Number token -> integer of type T. 0 ok, 1 not an integer, 2 out of range.
    template <class T>
    static int to_int(std::string_view tok, bool is_int, T& v) noexcept {
        if (!is_int) return 1;
        auto res = std::from_chars(tok.data(), tok.data() + tok.size(), v);
        return res.ec == std::errc{} && res.ptr == tok.data() + tok.size() ? 0 : 2;
    }
    template <class F>
    static bool to_float(std::string_view tok, F& v) noexcept {
        auto res = std::from_chars(tok.data(), tok.data() + tok.size(), v);
        return res.ec == std::errc{} && res.ptr == tok.data() + tok.size();
    }
    template <class F>
    static bool special_float(std::string_view s, F& v) noexcept {
        if (s == "NaN") v = std::numeric_limits<F>::quiet_NaN();
        else if (s == "Infinity") v = std::numeric_limits<F>::infinity();
        else if (s == "-Infinity") v = -std::numeric_limits<F>::infinity();
        else return false;
        return true;
    }

    // Strict reads of one tagged field at `pos`.
    template <class T>
    bool int_at(std::size_t pos, T& v, std::string_view img, const column& c, std::string_view field) {
        r_.i = pos;
        const char ch = r_.peek();
        const std::string path = vpath(img, c.name) + "." + std::string(field);
        if (ch != '-' && !(ch >= '0' && ch <= '9')) return mismatch(pos, path, "an integer");
        return get_int(v, path);
    }
    bool str_at(std::size_t pos, std::string_view& out, std::string_view img, const column& c, std::string_view field) {
        r_.i = pos;
        if (r_.peek() != '"') return mismatch(pos, vpath(img, c.name) + "." + std::string(field), "a string");
        json_str s;
        if (!r_.read_string(s)) return false;
        out = r_.text_of(s);
        return true;
    }

    struct obj_fields {
        std::size_t type = json_npos, value = json_npos, base64 = json_npos, width = json_npos, index = json_npos,
                    mask = json_npos, srid = json_npos, wkb = json_npos;
        bool other = false;
    };

    // Debezium, Maxwell and smpl-repl forms of a typed column's value that differ from the
    // rowcast forms; `done` false leaves the value to read_value's rowcast forms (which
    // these envelopes share for the rest).
    bool wire_value(value& slot, const column& col, std::string_view img, bool& done) {
        const column_type& t = col.type;
        const std::size_t at = r_.i;
        const value_kind nk = t.natural_kind();
        const char c = r_.peek();
        done = true;
        if (vmode_ == 2 && nk == value_kind::json && c != 'n') return raw_json(slot);
        if ((c == 't' || c == 'f') && nk == value_kind::bit) {
            if (!r_.literal(c == 't' ? "true" : "false")) return false;
            slot = bit{c == 't' ? 1u : 0u, natural_bit_width(t)};
            return true;
        }
        if (c == '"') {
            const bool numeric = nk == value_kind::int64 || nk == value_kind::uint64 || nk == value_kind::float32 ||
                                 nk == value_kind::float64 || nk == value_kind::year || nk == value_kind::bit ||
                                 nk == value_kind::decimal;
            const bool wire_string = nk == value_kind::bytes || nk == value_kind::set || nk == value_kind::geometry ||
                                     (nk == value_kind::uint64 && vmode_ == 1) || (numeric && vmode_ == 3) ||
                                     (nk == value_kind::bit && vmode_ == 1) ||
                                     (nk == value_kind::decimal && vmode_ == 1 && dbz.decimal == decimal_handling::precise);
            if (!wire_string) {
                done = false;
                return true;
            }
            json_str js;
            if (!r_.read_string(js)) return false;
            const std::string_view sv = r_.text_of(js);
            std::string& tmp = wire_tmp_;
            tmp.clear();
            auto b64 = [&](std::string_view in) {
                if (vmode_ == 1 && !from_connect_ && dbz.binary == binary_handling::hex) {
                    if (in.size() % 2) return false;
                    for (std::size_t i = 0; i < in.size(); i += 2) {
                        const int h = hex_value(in[i]), l = hex_value(in[i + 1]);
                        if (h < 0 || l < 0) return false;
                        tmp += static_cast<char>(h * 16 + l);
                    }
                    return true;
                }
                if (vmode_ == 1 && !from_connect_ && dbz.binary == binary_handling::base64_url_safe) {
                    std::string t2(in);
                    for (auto& ch : t2) ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
                    return decode_base64(t2, tmp);
                }
                return decode_base64(in, tmp);
            };
            switch (nk) {
                case value_kind::bytes:
                    if (vmode_ == 3) assign_json_str(slot_as<bytes>(slot).data, js);
                    else if (!b64(sv)) return vinvalid(at, img, col, "invalid binary encoding");
                    else slot_as<bytes>(slot).data = tmp;
                    return true;
                case value_kind::geometry: {
                    if (!decode_base64(sv, tmp)) return vinvalid(at, img, col, "invalid base64");
                    auto& g = slot_as<geometry>(slot);
                    g.srid = 0;
                    g.wkb = tmp;
                    return true;
                }
                case value_kind::set: {
                    auto& sv2 = slot_as<set_value>(slot);
                    assign_json_str(sv2.names, js);
                    sv2.mask = set_mask_of(t, sv2.names);
                    return true;
                }
                case value_kind::bit:
                    if (vmode_ == 1) {
                        if (!decode_base64(sv, tmp) || tmp.size() > 8) return vinvalid(at, img, col, "invalid BIT bytes");
                        std::uint64_t bits = 0;
                        for (std::size_t i = 0; i < tmp.size(); ++i)
                            bits |= std::uint64_t{static_cast<unsigned char>(tmp[i])} << (8 * i);
                        slot = bit{bits, natural_bit_width(t)};
                        return true;
                    }
                    break;
                case value_kind::uint64:
                    if (vmode_ == 1) {
                        if (sv.size() > 24 || !decode_base64(sv, tmp)) return vinvalid(at, img, col, "invalid Decimal bytes");
                        const std::string d = connect_to_decimal(tmp, 0);
                        std::uint64_t u;
                        auto r = std::from_chars(d.data(), d.data() + d.size(), u);
                        if (r.ec != std::errc{} || r.ptr != d.data() + d.size())
                            return vinvalid(at, img, col, "Decimal " + d.substr(0, 40) + " out of uint64 range");
                        slot = u;
                        return true;
                    }
                    break;
                case value_kind::decimal:
                    // MySQL's DECIMAL(65) needs 28 bytes: a longer text is not Decimal bytes
                    if (vmode_ == 1 && sv.size() <= 88 && sv.find('.') == std::string_view::npos && decode_base64(sv, tmp)) {
                        slot_as<decimal>(slot).digits = connect_to_decimal(tmp, t.scale);
                        return true;
                    }
                    if (!valid_decimal(sv)) return vinvalid(at, img, col, "invalid DECIMAL text");
                    slot_as<decimal>(slot).digits.assign(sv);
                    return true;
                default: break;
            }
            // smpl-repl: a number as a string
            float f32;
            double f64;
            if (nk == value_kind::float32 && special_float(sv, f32)) return slot = f32, true;
            if (nk == value_kind::float64 && special_float(sv, f64)) return slot = f64, true;
            const bool is_int = sv.find_first_of(".eE") == std::string_view::npos;
            return number(slot, nk, false, sv, is_int, at, img, col);
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            const bool temporal_num = nk == value_kind::date || nk == value_kind::time || nk == value_kind::datetime ||
                                      nk == value_kind::timestamp;
            const bool wrapped = vmode_ == 1 && nk == value_kind::uint64 && c == '-';  // bigint.unsigned long
            if (!(temporal_num || wrapped || (vmode_ == 1 && nk == value_kind::decimal))) {
                done = false;
                return true;
            }
            std::string_view tok;
            bool is_int;
            if (!r_.read_number(tok, is_int)) return false;
            if (nk == value_kind::decimal) {
                if (valid_decimal(tok)) return slot_as<decimal>(slot).digits.assign(tok), true;
                double d;
                if (!to_float(tok, d)) return vinvalid(at, img, col, "number out of double range");
                char b[400];
                auto r = std::to_chars(b, b + sizeof b, d, std::chars_format::fixed);
                if (r.ec != std::errc{}) return vinvalid(at, img, col, "number out of DECIMAL range");
                slot_as<decimal>(slot).digits.assign(b, static_cast<std::size_t>(r.ptr - b));
                return true;
            }
            std::int64_t v;
            if (int rc = to_int(tok, is_int, v))
                return vinvalid(at, img, col, rc == 1 ? "expected an integer" : "integer out of int64 range");
            switch (nk) {
                case value_kind::uint64: slot = static_cast<std::uint64_t>(v); return true;  // bigint.unsigned long
                case value_kind::date: {
                    if (v < -3000000 || v > 3000000) return vinvalid(at, img, col, "day number out of range");
                    const civil cv = civil_from_days(v);
                    if (cv.y < 0 || cv.y > 9999) return vinvalid(at, img, col, "day number out of range");
                    slot = date{static_cast<std::uint16_t>(cv.y), static_cast<std::uint8_t>(cv.m), static_cast<std::uint8_t>(cv.d)};
                    return true;
                }
                case value_kind::time:
                    if (is_ms_time(t, from_connect_ ? time_precision::adaptive : dbz.time)) {
                        if (v > 9223372036854775LL || v < -9223372036854775LL) return vinvalid(at, img, col, "time out of range");
                        v *= 1000;
                    }
                    slot = time{v};
                    return true;
                case value_kind::datetime: {
                    if (is_ms_datetime(t, from_connect_ ? time_precision::adaptive : dbz.time)) {
                        if (v > 9223372036854775LL || v < -9223372036854775LL) return vinvalid(at, img, col, "datetime out of range");
                        v *= 1000;
                    }
                    if (!timestamp_in_range(v)) return vinvalid(at, img, col, "datetime out of range");
                    slot = datetime_of_us(v);
                    return true;
                }
                default: slot = timestamp{v}; return true;
            }
        }
        done = false;
        return true;
    }

    bool read_value(value& slot, const column& col, std::string_view img) {
        const column_type& t = col.type;
        if (vmode_ && t.type != sql_type::unknown) {
            bool done = false;
            if (!wire_value(slot, col, img, done)) return false;
            if (done) return true;
        }
        const std::size_t at = r_.i;
        const value_kind nk = t.natural_kind();
        const bool untyped = t.type == sql_type::unknown;
        const char c = r_.peek();
        if (c == '"') {
            json_str s;
            if (!r_.read_string(s)) return false;
            switch (nk) {
                case value_kind::text: assign_json_str(slot_as<text>(slot).utf8, s); return true;
                case value_kind::json: assign_json_str(slot_as<json_text>(slot).text, s); return true;
                case value_kind::decimal: {
                    const std::string_view d = r_.text_of(s);
                    if (!valid_decimal(d)) return vinvalid(at, img, col, "invalid DECIMAL text");
                    slot_as<decimal>(slot).digits.assign(d);
                    return true;
                }
                case value_kind::enumeration: {
                    auto& e = slot_as<enum_value>(slot);
                    assign_json_str(e.name, s);
                    e.index = enum_index_of(t, e.name);
                    return true;
                }
                case value_kind::float32: {
                    float f;
                    if (!special_float(r_.text_of(s), f)) return vmismatch(at, img, col);
                    slot = f;
                    return true;
                }
                case value_kind::float64: {
                    double f;
                    if (!special_float(r_.text_of(s), f)) return vmismatch(at, img, col);
                    slot = f;
                    return true;
                }
                case value_kind::date:
                case value_kind::time:
                case value_kind::datetime:
                case value_kind::timestamp: return temporal(slot, nk, r_.text_of(s), at, img, col);
                default: return vmismatch(at, img, col);
            }
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            std::string_view tok;
            bool is_int;
            if (!r_.read_number(tok, is_int)) return false;
            return number(slot, nk, untyped, tok, is_int, at, img, col);
        }
        if (c == 'n') {
            if (!r_.literal("null")) return false;
            slot = null_value{};
            return true;
        }
        if (c == '{') return object_value(slot, col, img);
        if (c == '[') {
            if (nk == value_kind::set) return set_array(slot, col, img, 0, false);
            if (untyped || nk == value_kind::json) return raw_json(slot);
            return vmismatch(at, img, col);
        }
        if ((c == 't' || c == 'f') && untyped) {
            if (!r_.literal(c == 't' ? "true" : "false")) return false;
            slot = std::int64_t{c == 't' ? 1 : 0};
            return true;
        }
        if (c == 't' || c == 'f') return vmismatch(at, img, col);
        return r_.syntax("expected a JSON value");
    }

    bool raw_json(value& slot) {
        json_range rg;
        if (!range(rg)) return false;
        slot_as<json_text>(slot).text.assign(r_.s + rg.b, rg.e - rg.b);
        return true;
    }

    bool temporal(value& slot, value_kind k, std::string_view s, std::size_t at, std::string_view img, const column& col) {
        bool ok = false;
        switch (k) {
            case value_kind::date: {
                date d;
                ok = parse_date(s, d);
                if (ok) slot = d;
                break;
            }
            case value_kind::time: {
                time t;
                ok = parse_time(s, t);
                if (ok) slot = t;
                break;
            }
            case value_kind::datetime: {
                datetime d;
                ok = parse_datetime(s, d);
                if (ok) slot = d;
                break;
            }
            default: {
                timestamp t;
                ok = parse_timestamp(s, t);
                if (ok) slot = t;
            }
        }
        if (!ok) {
            std::string what = "invalid ";
            what += to_string(k);
            what += " \"";
            what += s.substr(0, 40);
            what += '"';
            return vinvalid(at, img, col, what);
        }
        return true;
    }

    bool number(value& slot, value_kind k, bool untyped, std::string_view tok, bool is_int, std::size_t at,
                std::string_view img, const column& col) {
        auto int_err = [&](int rc, std::string_view type) {
            if (rc == 1) return vinvalid(at, img, col, "expected an integer, got " + std::string(tok.substr(0, 40)));
            return vinvalid(at, img, col, "integer " + std::string(tok.substr(0, 40)) + " out of " + std::string(type) + " range");
        };
        switch (k) {
            case value_kind::int64: {
                std::int64_t v;
                if (int rc = to_int(tok, is_int, v)) return int_err(rc, "int64");
                slot = v;
                return true;
            }
            case value_kind::uint64: {
                std::uint64_t v;
                if (int rc = to_int(tok, is_int, v)) return int_err(rc, "uint64");
                slot = v;
                return true;
            }
            case value_kind::float32: {
                float v;
                if (!to_float(tok, v)) return vinvalid(at, img, col, "number out of float range");
                slot = v;
                return true;
            }
            case value_kind::float64: {
                double v;
                if (!to_float(tok, v)) return vinvalid(at, img, col, "number out of double range");
                slot = v;
                return true;
            }
            case value_kind::decimal:
                if (!valid_decimal(tok)) return vinvalid(at, img, col, "invalid DECIMAL number");
                slot_as<decimal>(slot).digits.assign(tok);
                return true;
            case value_kind::year: {
                std::uint16_t v;
                if (int rc = to_int(tok, is_int, v)) return int_err(rc, "year");
                slot = year{v};
                return true;
            }
            case value_kind::bit: {
                std::uint64_t v;
                if (int rc = to_int(tok, is_int, v)) return int_err(rc, "uint64");
                slot = bit{v, natural_bit_width(col.type)};
                return true;
            }
            default:
                if (!untyped) return vmismatch(at, img, col);
                if (is_int) {
                    std::int64_t v;
                    if (to_int(tok, true, v) == 0) {
                        slot = v;
                        return true;
                    }
                    std::uint64_t u;
                    if (int rc = to_int(tok, true, u)) return int_err(rc, "64-bit integer");
                    slot = u;
                    return true;
                }
                double d;
                if (!to_float(tok, d)) return vinvalid(at, img, col, "number out of double range");
                slot = d;
                return true;
        }
    }

    // ["a","c"] -> set; mask computed from members unless has_mask.
    bool set_array(value& slot, const column& col, std::string_view img, std::uint64_t mask, bool has_mask) {
        const std::size_t at = r_.i;
        ++r_.i;
        if (!r_.enter()) return false;
        auto& sv = slot_as<set_value>(slot);
        sv.names.clear();
        std::uint64_t m = 0;
        bool any = false;
        const bool ok = each_element([&]() ROWCAST_JSON_INLINE {
            if (r_.peek() != '"') return mismatch(r_.i, vpath(img, col.name), "a member name string");
            json_str s;
            if (!r_.read_string(s)) return false;
            const std::string_view name = r_.text_of(s);
            if (name.find(',') != std::string_view::npos)
                return vinvalid(at, img, col, "a SET member name cannot contain ','");
            if (any) sv.names += ',';
            any = true;
            sv.names += name;
            m |= set_bit_of(col.type, name);
            return true;
        });
        if (!ok) return false;
        sv.mask = has_mask ? mask : m;
        return true;
    }

    bool object_value(value& slot, const column& col, std::string_view img) {
        const std::size_t at = r_.i;
        obj_fields f;
        ++r_.i;
        if (!r_.enter()) return false;
        const bool ok_members = each_member([&](std::string_view key) ROWCAST_JSON_INLINE {
            std::size_t* p = nullptr;
            if (key_is(key, "$type")) p = &f.type;
            else if (key_is(key, "value")) p = &f.value;
            else if (key_is(key, "base64")) p = &f.base64;
            else if (key_is(key, "width")) p = &f.width;
            else if (key_is(key, "index")) p = &f.index;
            else if (key_is(key, "mask")) p = &f.mask;
            else if (key_is(key, "srid")) p = &f.srid;
            else if (key_is(key, "wkb")) p = &f.wkb;
            if (p) {
                if (*p != json_npos) return vinvalid(r_.i, img, col, "duplicate key \"" + std::string(key) + "\"");
                *p = r_.i;
            } else f.other = true;
            return skip();
        });
        if (!ok_members) return false;
        const std::size_t end = r_.i;
        const value_kind nk = col.type.natural_kind();
        const bool untyped = col.type.type == sql_type::unknown;
        bool ok;
        if (f.type != json_npos) ok = tagged(slot, f, col, img, at);
        else if (f.base64 != json_npos && f.srid == json_npos && (nk == value_kind::bytes || untyped))
            ok = bytes_at(slot_as<bytes>(slot).data, f.base64, col, img);
        else if (f.srid != json_npos && f.wkb != json_npos && (nk == value_kind::geometry || untyped))
            ok = geometry_at(slot, f, col, img);
        else if (untyped || nk == value_kind::json) {
            slot_as<json_text>(slot).text.assign(r_.s + at, end - at);
            ok = true;
        } else return vmismatch(at, img, col);
        r_.i = end;
        return ok;
    }
    bool bytes_at(std::string& out, std::size_t pos, const column& col, std::string_view img) {
        std::string_view b64;
        if (!str_at(pos, b64, img, col, "base64")) return false;
        out.clear();
        if (!decode_base64(b64, out)) return vinvalid(pos, img, col, "invalid base64");
        return true;
    }
    bool geometry_at(value& slot, const obj_fields& f, const column& col, std::string_view img) {
        if (f.srid == json_npos || f.wkb == json_npos) return vinvalid(r_.i, img, col, "geometry needs \"srid\" and \"wkb\"");
        std::uint32_t srid;
        if (!int_at(f.srid, srid, img, col, "srid")) return false;
        auto& g = slot_as<geometry>(slot);
        g.srid = srid;
        return bytes_at(g.wkb, f.wkb, col, img);
    }
    bool need(std::size_t pos, std::string_view field, const column& col, std::string_view img, std::size_t at) {
        if (pos != json_npos) return true;
        return r_.fail(errc::missing_field, at, vpath(img, col.name),
                       "tagged value without \"" + std::string(field) + "\"");
    }
    bool tagged(value& slot, const obj_fields& f, const column& col, std::string_view img, std::size_t at) {
        std::string_view kind_sv;
        if (!str_at(f.type, kind_sv, img, col, "$type")) return false;
        const std::string kind(kind_sv);  // scratch is reused below
        const std::string tpath = vpath(img, col.name);
        auto num_form = [&](std::size_t pos, std::string_view& tok, bool& is_int) {
            r_.i = pos;
            const char ch = r_.peek();
            if (ch != '-' && !(ch >= '0' && ch <= '9')) return mismatch(pos, tpath + ".value", "a number");
            return r_.read_number(tok, is_int);
        };
        if (kind == "int64" || kind == "uint64" || kind == "year") {
            if (!need(f.value, "value", col, img, at)) return false;
            if (kind == "int64") {
                std::int64_t v;
                if (!int_at(f.value, v, img, col, "value")) return false;
                slot = v;
            } else if (kind == "uint64") {
                std::uint64_t v;
                if (!int_at(f.value, v, img, col, "value")) return false;
                slot = v;
            } else {
                std::uint16_t v;
                if (!int_at(f.value, v, img, col, "value")) return false;
                slot = year{v};
            }
            return true;
        }
        if (kind == "float32" || kind == "float64") {
            if (!need(f.value, "value", col, img, at)) return false;
            r_.i = f.value;
            if (r_.peek() == '"') {
                std::string_view s;
                if (!str_at(f.value, s, img, col, "value")) return false;
                if (kind == "float32") {
                    float v;
                    if (!special_float(s, v)) return vinvalid(f.value, img, col, "expected NaN, Infinity or -Infinity");
                    slot = v;
                } else {
                    double v;
                    if (!special_float(s, v)) return vinvalid(f.value, img, col, "expected NaN, Infinity or -Infinity");
                    slot = v;
                }
                return true;
            }
            std::string_view tok;
            bool is_int;
            if (!num_form(f.value, tok, is_int)) return false;
            if (kind == "float32") {
                float v;
                if (!to_float(tok, v)) return vinvalid(f.value, img, col, "number out of float range");
                slot = v;
            } else {
                double v;
                if (!to_float(tok, v)) return vinvalid(f.value, img, col, "number out of double range");
                slot = v;
            }
            return true;
        }
        if (kind == "text" || kind == "json") {
            std::string& dst = kind == "text" ? slot_as<text>(slot).utf8 : slot_as<json_text>(slot).text;
            if (f.base64 != json_npos) return bytes_at(dst, f.base64, col, img);
            if (!need(f.value, "value", col, img, at)) return false;
            std::string_view s;
            if (!str_at(f.value, s, img, col, "value")) return false;
            dst.assign(s);
            return true;
        }
        if (kind == "decimal") {
            if (!need(f.value, "value", col, img, at)) return false;
            std::string_view s;
            if (!str_at(f.value, s, img, col, "value")) return false;
            if (!valid_decimal(s)) return vinvalid(f.value, img, col, "invalid DECIMAL text");
            slot_as<decimal>(slot).digits.assign(s);
            return true;
        }
        if (kind == "bytes") {
            if (!need(f.base64, "base64", col, img, at)) return false;
            return bytes_at(slot_as<bytes>(slot).data, f.base64, col, img);
        }
        if (kind == "date" || kind == "time" || kind == "datetime" || kind == "timestamp") {
            if (!need(f.value, "value", col, img, at)) return false;
            r_.i = f.value;
            const value_kind k = kind == "date"   ? value_kind::date
                                 : kind == "time" ? value_kind::time
                                 : kind == "datetime" ? value_kind::datetime
                                                      : value_kind::timestamp;
            if (k == value_kind::timestamp && r_.peek() != '"') {
                std::int64_t us;
                if (!int_at(f.value, us, img, col, "value")) return false;
                slot = timestamp{us};
                return true;
            }
            std::string_view s;
            if (!str_at(f.value, s, img, col, "value")) return false;
            return temporal(slot, k, s, f.value, img, col);
        }
        if (kind == "bit") {
            if (!need(f.value, "value", col, img, at) || !need(f.width, "width", col, img, at)) return false;
            std::uint64_t v;
            std::uint8_t w;
            if (!int_at(f.value, v, img, col, "value") || !int_at(f.width, w, img, col, "width")) return false;
            if (w > 64) return vinvalid(f.width, img, col, "bit width over 64");
            slot = bit{v, w};
            return true;
        }
        if (kind == "enum") {
            if (!need(f.value, "value", col, img, at) || !need(f.index, "index", col, img, at)) return false;
            std::uint16_t idx;
            if (!int_at(f.index, idx, img, col, "index")) return false;
            std::string_view s;
            if (!str_at(f.value, s, img, col, "value")) return false;
            auto& e = slot_as<enum_value>(slot);
            e.name.assign(s);
            e.index = idx;
            return true;
        }
        if (kind == "set") {
            if (!need(f.value, "value", col, img, at) || !need(f.mask, "mask", col, img, at)) return false;
            std::uint64_t m;
            if (!int_at(f.mask, m, img, col, "mask")) return false;
            r_.i = f.value;
            if (r_.peek() != '[') return mismatch(f.value, tpath + ".value", "an array of member names");
            return set_array(slot, col, img, m, true);
        }
        if (kind == "geometry") return geometry_at(slot, f, col, img);
        return r_.fail(errc::invalid_value, f.type, tpath + ".$type",
                       "unknown value type \"" + kind.substr(0, 40) + "\"");
    }
};

}  // namespace detail
ROWCAST_NAMESPACE_END
