// rowcast_udf.so: MariaDB (and, with -DROWCAST_UDF_MYSQL8, MySQL 8) loadable functions
// that write row changes into a rowcast spool directory. See docs/udf.md.
//
//   rowcast_event(schema, table, operation, desc1, old1, new1, desc2, old2, new2, …) RETURNS INTEGER
//   rowcast_json(json_document)                                                      RETURNS INTEGER
//
// Both return 0 when the event is in the spool. On failure they return a non-zero code
// (1 configuration/spool, 2 bad argument, 3 too large, 4 write failed, 5 internal), and with
// `on_error = fail` (the default) they raise an SQL error instead, so the statement fails
// rather than losing the event.
//
// Safety inside the server: every entry point catches every exception; argument bytes are
// read only within their lengths; memory per call is bounded by max_event_size; state is
// per call site (UDF_INIT::ptr) or in a column cache that is never destroyed (no static
// destructor runs at DROP FUNCTION or shutdown; see global_cache()).
#include "udf_columns.hpp"

#include <rowcast/codec/binary.hpp>
#include <rowcast/transport/spool_writer.hpp>
#if defined(ROWCAST_UDF_HAVE_JSON)
#include <rowcast/codec/json.hpp>
#endif
#if defined(ROWCAST_UDF_HAVE_YAML)
#include <rowcast/codec/yaml.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include <dlfcn.h>

// --- The UDF ABI: MariaDB's server header, or MySQL 8's -------------------------------
#if defined(ROWCAST_UDF_MYSQL8)
// MySQL 8: <mysql/udf_registration_types.h>; bool instead of my_bool, unsigned char flags,
// Item_result has INVALID_RESULT (-1) and no TIME_RESULT. Same binary layout.
#include <mysql/udf_registration_types.h>
using udf_bool = bool;
using udf_flag = unsigned char;
#else
// MariaDB: /usr/include/mariadb/server/mysql.h (libmariadbd-dev), not Connector/C's header.
#include <mysql.h>
using udf_bool = my_bool;
using udf_flag = char;
#endif

#ifndef MYSQL_ERRMSG_SIZE
#define MYSQL_ERRMSG_SIZE 512
#endif

#define ROWCAST_UDF_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using namespace rowcast;

// Return codes of the functions (documented in docs/udf.md).
enum : long long { ok = 0, err_config = 1, err_argument = 2, err_too_large = 3, err_write = 4, err_internal = 5 };

// --- Configuration ---------------------------------------------------------------------
enum class codec_name { json, yaml, binary };

struct config {
    std::string file;
    std::string spool_directory;
    codec_name codec = codec_name::json;
    spool_durability durability = spool_durability::file;
    mode_t file_mode = 0640;
    bool fail_on_error = true;                      // on_error = fail | continue
    std::size_t max_event_size = std::size_t{16} << 20;  // bytes of argument data per event
};

// Copies `msg` into the server's MYSQL_ERRMSG_SIZE buffer, always NUL-terminated.
void set_message(char* buf, std::string_view msg) noexcept {
    if (!buf) return;
    const std::size_t n = std::min(msg.size(), std::size_t{MYSQL_ERRMSG_SIZE - 1});
    std::memcpy(buf, msg.data(), n);
    buf[n] = '\0';
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return std::string(s);
}

// Reads the config file named by $ROWCAST_UDF_CONFIG (default /etc/mysql/rowcast-udf.conf).
// Errors read "<file>:<line>: <what>", short, because the server shows only the first 80
// characters of an init message ("Can't initialize function '…'; %-.80s"); the full text also
// goes to the error log.
std::optional<config> read_config(std::string& err) {
    config c;
    const char* env = std::getenv("ROWCAST_UDF_CONFIG");
    c.file = env && *env ? env : "/etc/mysql/rowcast-udf.conf";
    std::ifstream in(c.file);
    if (!in) {
        err = c.file + ": cannot read: " + std::strerror(errno) +
              " (the server reads its path from ROWCAST_UDF_CONFIG; default /etc/mysql/rowcast-udf.conf)";
        return std::nullopt;
    }
    std::string line;
    int lineno = 0;
    auto bad = [&](const std::string& what) {
        err = c.file + ":" + std::to_string(lineno) + ": " + what;
        return std::nullopt;
    };
    while (std::getline(in, line)) {
        ++lineno;
        std::string l = trim(line);
        if (l.empty() || l[0] == '#' || l[0] == ';') continue;
        const std::size_t eq = l.find('=');
        if (eq == std::string::npos) return bad("expected key = value");
        const std::string key = trim(std::string_view(l).substr(0, eq));
        const std::string val = trim(std::string_view(l).substr(eq + 1));
        if (key == "spool_directory") {
            if (val.empty() || val[0] != '/') return bad("spool_directory: not an absolute path");
            c.spool_directory = val;
        } else if (key == "codec") {
            if (val == "json") c.codec = codec_name::json;
            else if (val == "yaml") c.codec = codec_name::yaml;
            else if (val == "binary") c.codec = codec_name::binary;
            else return bad("codec '" + val + "': not json|yaml|binary");
        } else if (key == "durability") {
            if (val == "none") c.durability = spool_durability::none;
            else if (val == "file") c.durability = spool_durability::file;
            else if (val == "file_and_directory") c.durability = spool_durability::file_and_directory;
            else return bad("durability '" + val + "': not none|file|file_and_directory");
        } else if (key == "file_mode") {
            char* end = nullptr;
            const unsigned long m = std::strtoul(val.c_str(), &end, 8);
            if (val.empty() || *end != '\0' || m > 0777) return bad("file_mode '" + val + "': not octal like 0640");
            c.file_mode = static_cast<mode_t>(m);
        } else if (key == "on_error") {
            if (val == "fail") c.fail_on_error = true;
            else if (val == "continue") c.fail_on_error = false;
            else return bad("on_error '" + val + "': not fail|continue");
        } else if (key == "max_event_size") {
            char* end = nullptr;
            const unsigned long long m = std::strtoull(val.c_str(), &end, 10);
            if (val.empty() || *end != '\0' || m < 1024 || m > (std::size_t{1} << 30))
                return bad("max_event_size '" + val + "': not 1024-1073741824");
            c.max_event_size = static_cast<std::size_t>(m);
        } else {
            return bad("unknown key '" + key + "'");
        }
    }
    if (c.spool_directory.empty()) {
        err = c.file + ": spool_directory is not set";
        return std::nullopt;
    }
#if !defined(ROWCAST_UDF_HAVE_JSON)
    if (c.codec == codec_name::json) {
        err = c.file + ": codec json is not built into this rowcast_udf.so";
        return std::nullopt;
    }
#endif
#if !defined(ROWCAST_UDF_HAVE_YAML)
    if (c.codec == codec_name::yaml) {
        err = c.file + ": codec yaml is not built into this rowcast_udf.so";
        return std::nullopt;
    }
#endif
    return c;
}

// --- The spool sink: one writer per call site ---------------------------------------------
using writer_variant = std::variant<std::monostate, spool_writer<binary_codec>
#if defined(ROWCAST_UDF_HAVE_JSON)
                                    , spool_writer<json_codec>
#endif
#if defined(ROWCAST_UDF_HAVE_YAML)
                                    , spool_writer<yaml_codec>
#endif
                                    >;

template <class Codec>
bool open_writer(const config& c, writer_variant& w, std::string& err) {
    auto r = spool_writer<Codec>::open({c.spool_directory, c.durability, c.file_mode});
    if (!r) {
        err = r.error_value().message;
        return false;
    }
    w.template emplace<spool_writer<Codec>>(std::move(*r));
    return true;
}

bool open_sink(const config& c, writer_variant& w, std::string& err) {
    switch (c.codec) {
        case codec_name::binary: return open_writer<binary_codec>(c, w, err);
#if defined(ROWCAST_UDF_HAVE_JSON)
        case codec_name::json: return open_writer<json_codec>(c, w, err);
#endif
#if defined(ROWCAST_UDF_HAVE_YAML)
        case codec_name::yaml: return open_writer<yaml_codec>(c, w, err);
#endif
        default: err = "codec not built in"; return false;
    }
}

// Writes e into the spool; returns "" or the error message.
std::string write_event(writer_variant& w, const event& e) {
    return std::visit(
        [&](auto& writer) -> std::string {
            if constexpr (std::is_same_v<std::decay_t<decltype(writer)>, std::monostate>) {
                return "no spool writer";
            } else {
                auto r = writer.write(e);
                return r ? std::string() : r.error_value().message;
            }
        },
        w);
}

// --- The column cache: (schema, table, descriptors) -> shared column list -----------------
// Never destroyed: constructed in static storage on first use, and its destructor is never
// run, so no static destructor can run at DROP FUNCTION (dlclose) or server shutdown while
// another thread is inside a call. Bounded: cleared when it holds max_entries lists.
struct column_cache {
    static constexpr std::size_t max_entries = 1024;
    std::shared_mutex mutex;
    std::unordered_map<std::string, columns_ptr> map;
};

column_cache& global_cache() {
    alignas(column_cache) static unsigned char storage[sizeof(column_cache)];
    static column_cache* const cache = std::construct_at(reinterpret_cast<column_cache*>(storage));
    return *cache;
}

// --- Raising an SQL error from a call -------------------------------------------------------
// mariadbd exports my_printf_error (also the plugin service my_print_error_service); we look it
// up at run time so the .so has no undefined symbols and loads where it is missing (MySQL 8):
// there the function returns NULL instead and the generated trigger SIGNALs.
using printf_error_fn = void (*)(unsigned int, const char*, unsigned long, ...);
printf_error_fn server_printf_error() noexcept {
    static const printf_error_fn fn = [] {
        void* p = ::dlsym(RTLD_DEFAULT, "my_printf_error");
        printf_error_fn f = nullptr;
        static_assert(sizeof p == sizeof f);
        std::memcpy(&f, &p, sizeof f);
        return f;
    }();
    return fn;
}
constexpr unsigned er_unknown_error = 1105;  // ER_UNKNOWN_ERROR, SQLSTATE HY000

// --- Per call-site state ------------------------------------------------------------------
struct site {
    config cfg;
    writer_variant writer;
    std::string function;  // "rowcast_event" / "rowcast_json"
    // Last column list this site used, and its cache key.
    std::string key;
    columns_ptr columns;
    std::string scratch_key;
#if defined(ROWCAST_UDF_HAVE_JSON)
    json_codec json;
#endif
};

site* site_of(UDF_INIT* initid) noexcept { return reinterpret_cast<site*>(initid->ptr); }

// Reports a failure of one call: logs it, raises an SQL error when on_error = fail.
long long failure(site& s, long long code, const std::string& what, udf_flag* is_null, udf_flag* error) noexcept {
    try {
        const std::string msg = s.function + ": " + what;
        if (s.cfg.fail_on_error) {
            if (auto f = server_printf_error()) f(er_unknown_error, "%s", 0UL, msg.c_str());
            *is_null = 1;
            *error = 1;
            return 0;
        }
        std::fprintf(stderr, "rowcast_udf: event lost (on_error = continue): %s\n", msg.c_str());
    } catch (...) {
        if (s.cfg.fail_on_error) {
            *is_null = 1;
            *error = 1;
            return 0;
        }
    }
    return code;
}

// An init failure: the message for the client (the server shows its first 80 characters) and
// the full text in the error log.
void init_failure(char* message, const char* function, const std::string& msg) noexcept {
    set_message(message, msg);
    std::fprintf(stderr, "rowcast_udf: %s: %s\n", function, msg.c_str());
}

// "[rowcast.spool.io_error] <dir>: <what>: <strerror>" -> "<what>: <strerror>: <dir>", reason first.
std::string spool_reason_first(std::string m) {
    if (m.rfind("[rowcast.", 0) == 0)
        if (const std::size_t sp = m.find("] "); sp != std::string::npos) m.erase(0, sp + 2);
    if (const std::size_t colon = m.find(": "); colon != std::string::npos && !m.empty() && m[0] == '/')
        return m.substr(colon + 2) + ": " + m.substr(0, colon);
    return m;
}

bool common_init(UDF_INIT* initid, char* message, const char* function, std::unique_ptr<site>& out) {
    std::string err;
    auto cfg = read_config(err);
    if (!cfg) {
        init_failure(message, function, err);
        return false;
    }
    auto s = std::make_unique<site>();
    s->cfg = std::move(*cfg);
    s->function = function;
    if (!open_sink(s->cfg, s->writer, err)) {
        init_failure(message, function, spool_reason_first(err) + " (config " + s->cfg.file + ")");
        return false;
    }
    initid->maybe_null = 1;
    initid->const_item = 0;
    out = std::move(s);
    return true;
}

udf::arg_kind kind_of(Item_result t) noexcept {
    switch (static_cast<int>(t)) {
        case STRING_RESULT: return udf::arg_kind::string;
        case REAL_RESULT: return udf::arg_kind::real;
        case INT_RESULT: return udf::arg_kind::integer;
        case DECIMAL_RESULT: return udf::arg_kind::decimal;
        default: return udf::arg_kind::other;
    }
}

std::string_view arg_bytes(const UDF_ARGS* a, unsigned i) noexcept {
    const udf::arg_kind k = kind_of(a->arg_type[i]);
    if (k == udf::arg_kind::integer) return {a->args[i], sizeof(long long)};
    if (k == udf::arg_kind::real) return {a->args[i], sizeof(double)};
    return {a->args[i], a->lengths[i]};
}

bool parse_operation(std::string_view op, event_kind& k) noexcept {
    if (udf::detail::iequals(op, "insert") || udf::detail::iequals(op, "i")) k = event_kind::insert;
    else if (udf::detail::iequals(op, "update") || udf::detail::iequals(op, "u")) k = event_kind::update;
    else if (udf::detail::iequals(op, "delete") || udf::detail::iequals(op, "d")) k = event_kind::delete_;
    else return false;
    return true;
}

// The column list for this call's descriptors: this site's last list if the descriptors
// are the same, else the global cache, else parsed (and cached).
columns_ptr columns_for(site& s, const UDF_ARGS* a, std::string& err) {
    std::string& key = s.scratch_key;
    key.clear();
    for (unsigned i = 0; i < 2; ++i) {
        key.append(a->args[i], a->lengths[i]);
        key += '\0';
    }
    for (unsigned i = 3; i < a->arg_count; i += 3) {
        if (!a->args[i]) {
            err = "column descriptor (argument " + std::to_string(i + 1) + ") is NULL";
            return nullptr;
        }
        const std::string len = std::to_string(a->lengths[i]);
        key += len;
        key += ':';
        key.append(a->args[i], a->lengths[i]);
    }
    if (s.columns && key == s.key) return s.columns;
    column_cache& cache = global_cache();
    {
        std::shared_lock lock(cache.mutex);
        if (auto it = cache.map.find(key); it != cache.map.end()) {
            s.key = key;
            s.columns = it->second;
            return s.columns;
        }
    }
    std::vector<column> cols;
    cols.reserve((a->arg_count - 3) / 3);
    for (unsigned i = 3; i < a->arg_count; i += 3) {
        column c;
        std::string e;
        if (!udf::parse_descriptor({a->args[i], a->lengths[i]}, c, e)) {
            err = "argument " + std::to_string(i + 1) + ": " + e;
            return nullptr;
        }
        cols.push_back(std::move(c));
    }
    columns_ptr p = make_columns(std::move(cols));
    {
        std::unique_lock lock(cache.mutex);
        if (cache.map.size() >= column_cache::max_entries) cache.map.clear();
        cache.map.emplace(key, p);
    }
    s.key = key;
    s.columns = p;
    return p;
}

long long event_call(UDF_INIT* initid, UDF_ARGS* a, udf_flag* is_null, udf_flag* error) noexcept {
    *is_null = 0;
    site* sp = site_of(initid);
    if (!sp) {
        *is_null = 1;
        *error = 1;
        return 0;
    }
    site& s = *sp;
    try {
        for (unsigned i = 0; i < 3; ++i)
            if (!a->args[i]) {
                static constexpr const char* names[] = {"schema", "table", "operation"};
                return failure(s, err_argument, std::string(names[i]) + " is NULL", is_null, error);
            }
        event e;
        if (!parse_operation({a->args[2], a->lengths[2]}, e.kind))
            return failure(s, err_argument,
                           "operation must be insert, update or delete, not '" +
                               std::string(a->args[2], std::min<unsigned long>(a->lengths[2], 40)) + "'",
                           is_null, error);
        std::size_t total = 0;
        for (unsigned i = 0; i < a->arg_count; ++i)
            if (a->args[i]) total += kind_of(a->arg_type[i]) == udf::arg_kind::integer ||
                                             kind_of(a->arg_type[i]) == udf::arg_kind::real
                                         ? 8
                                         : a->lengths[i];
        if (total > s.cfg.max_event_size)
            return failure(s, err_too_large,
                           "event of " + std::to_string(total) + " bytes of values exceeds max_event_size " +
                               std::to_string(s.cfg.max_event_size) + " (" + s.cfg.file + ")",
                           is_null, error);
        std::string err;
        e.columns = columns_for(s, a, err);
        if (!e.columns) return failure(s, err_argument, err, is_null, error);
        e.schema.assign(a->args[0], a->lengths[0]);
        e.table.assign(a->args[1], a->lengths[1]);
        const std::size_t n = e.columns->size();
        const bool want_before = e.kind != event_kind::insert;
        const bool want_after = e.kind != event_kind::delete_;
        if (want_before) e.before.resize(n);
        if (want_after) e.after.resize(n);
        for (std::size_t c = 0; c < n; ++c) {
            const column& col = (*e.columns)[c];
            for (int img = 0; img < 2; ++img) {
                if (img == 0 ? !want_before : !want_after) continue;
                const unsigned i = static_cast<unsigned>(3 + 3 * c + 1 + img);
                value& v = img == 0 ? e.before[c] : e.after[c];
                if (!a->args[i]) {
                    v = null_value{};
                    continue;
                }
                if (!udf::convert_argument(col, kind_of(a->arg_type[i]), arg_bytes(a, i), v, err))
                    return failure(s, err_argument,
                                   std::string(img == 0 ? "old" : "new") + " value of " + err + " (table `" +
                                       e.schema + "`.`" + e.table + "`)",
                                   is_null, error);
            }
        }
        e.capture_time = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
        // The trigger path's sequence (GSN): nanoseconds since the epoch, strictly increasing
        // across all calls in this server process (the same clock that orders the spool names).
        e.sequence = rowcast::detail::next_spool_stamp();
        if (std::string w = write_event(s.writer, e); !w.empty()) return failure(s, err_write, w, is_null, error);
        return ok;
    } catch (const std::bad_alloc&) {
        return failure(s, err_internal, "out of memory", is_null, error);
    } catch (const std::exception& ex) {
        return failure(s, err_internal, std::string("internal error: ") + ex.what(), is_null, error);
    } catch (...) {
        return failure(s, err_internal, "internal error", is_null, error);
    }
}

}  // namespace

// --- rowcast_event -------------------------------------------------------------------------
ROWCAST_UDF_EXPORT udf_bool rowcast_event_init(UDF_INIT* initid, UDF_ARGS* args, char* message) {
    try {
        if (args->arg_count < 6 || (args->arg_count - 3) % 3 != 0) {
            set_message(message, "expected 3 + 3*N arguments, got " + std::to_string(args->arg_count) +
                                     ": schema, table, operation, then descriptor, old, new per column");
            return 1;
        }
        // schema, table, operation and the descriptors are strings whatever the caller passed.
        for (unsigned i = 0; i < 3; ++i) args->arg_type[i] = STRING_RESULT;
        for (unsigned i = 3; i < args->arg_count; i += 3) args->arg_type[i] = STRING_RESULT;
        // Constant descriptors are checked now, so a typo fails at the first call with a clear message.
        for (unsigned i = 3; i < args->arg_count; i += 3) {
            if (!args->args[i]) continue;  // not constant: checked per call
            column c;
            std::string e;
            if (!udf::parse_descriptor({args->args[i], args->lengths[i]}, c, e)) {
                set_message(message, "argument " + std::to_string(i + 1) + ": " + e);
                return 1;
            }
        }
        std::unique_ptr<site> s;
        if (!common_init(initid, message, "rowcast_event", s)) return 1;
        initid->ptr = reinterpret_cast<char*>(s.release());  // owned by the server until _deinit
        return 0;
    } catch (const std::exception& ex) {
        set_message(message, ex.what());
    } catch (...) {
        set_message(message, "internal error");
    }
    return 1;
}

ROWCAST_UDF_EXPORT void rowcast_event_deinit(UDF_INIT* initid) {
    std::unique_ptr<site> s(site_of(initid));  // frees it
    initid->ptr = nullptr;
}

ROWCAST_UDF_EXPORT long long rowcast_event(UDF_INIT* initid, UDF_ARGS* args, udf_flag* is_null, udf_flag* error) {
    return event_call(initid, args, is_null, error);
}

// --- rowcast_json --------------------------------------------------------------------------
ROWCAST_UDF_EXPORT udf_bool rowcast_json_init(UDF_INIT* initid, UDF_ARGS* args, char* message) {
    try {
#if !defined(ROWCAST_UDF_HAVE_JSON)
        (void)initid;
        (void)args;
        set_message(message, "this rowcast_udf.so was built without the json codec");
        return 1;
#else
        if (args->arg_count != 1) {
            set_message(message, "rowcast_json(json_document): expected 1 argument, got " +
                                     std::to_string(args->arg_count));
            return 1;
        }
        args->arg_type[0] = STRING_RESULT;
        std::unique_ptr<site> s;
        if (!common_init(initid, message, "rowcast_json", s)) return 1;
        initid->ptr = reinterpret_cast<char*>(s.release());
        return 0;
#endif
    } catch (const std::exception& ex) {
        set_message(message, ex.what());
    } catch (...) {
        set_message(message, "internal error");
    }
    return 1;
}

ROWCAST_UDF_EXPORT void rowcast_json_deinit(UDF_INIT* initid) {
    std::unique_ptr<site> s(site_of(initid));
    initid->ptr = nullptr;
}

ROWCAST_UDF_EXPORT long long rowcast_json(UDF_INIT* initid, UDF_ARGS* args, udf_flag* is_null, udf_flag* error) {
    *is_null = 0;
    site* sp = site_of(initid);
    if (!sp) {
        *is_null = 1;
        *error = 1;
        return 0;
    }
    site& s = *sp;
    try {
#if defined(ROWCAST_UDF_HAVE_JSON)
        if (!args->args[0]) return failure(s, err_argument, "the JSON document is NULL", is_null, error);
        if (args->lengths[0] > s.cfg.max_event_size)
            return failure(s, err_too_large,
                           "document of " + std::to_string(args->lengths[0]) + " bytes exceeds max_event_size " +
                               std::to_string(s.cfg.max_event_size) + " (" + s.cfg.file + ")",
                           is_null, error);
        auto r = decode(s.json, std::string_view(args->args[0], args->lengths[0]));
        if (!r) return failure(s, err_argument, r.error_value().message, is_null, error);
        event& e = *r;
        if (e.capture_time.time_since_epoch().count() == 0)
            e.capture_time = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
        if (e.sequence == 0) e.sequence = rowcast::detail::next_spool_stamp();
        if (std::string w = write_event(s.writer, e); !w.empty()) return failure(s, err_write, w, is_null, error);
        return ok;
#else
        (void)args;
        return failure(s, err_config, "built without the json codec", is_null, error);
#endif
    } catch (const std::bad_alloc&) {
        return failure(s, err_internal, "out of memory", is_null, error);
    } catch (const std::exception& ex) {
        return failure(s, err_internal, std::string("internal error: ") + ex.what(), is_null, error);
    } catch (...) {
        return failure(s, err_internal, "internal error", is_null, error);
    }
}
