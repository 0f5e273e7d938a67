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
// destructor runs at DROP FUNCTION or shutdown; see udf::column_cache::process_wide()).
//
// This file is the glue between the server's UDF ABI and the library: the config
// (rowcast/udf/config.hpp), building the event from the arguments (rowcast/udf/call.hpp,
// rowcast/udf/columns.hpp) and the spool (rowcast/udf/spool_output.hpp) live in include/.
#include <rowcast/codec/binary.hpp>
#include <rowcast/udf/call.hpp>
#include <rowcast/udf/config.hpp>
#include <rowcast/udf/journal_output.hpp>
#include <rowcast/udf/spool_output.hpp>
#include <rowcast/udf/status.hpp>
#if defined(ROWCAST_UDF_HAVE_DATAGRAM)
#include <rowcast/udf/datagram_output.hpp>
#endif
#if defined(ROWCAST_UDF_HAVE_JSON)
#include <rowcast/codec/json.hpp>
#endif
#if defined(ROWCAST_UDF_HAVE_YAML)
#include <rowcast/codec/yaml.hpp>
#endif

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
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

// Copies `msg` into the server's MYSQL_ERRMSG_SIZE buffer, always NUL-terminated.
void set_message(char* buf, std::string_view msg) noexcept {
    if (!buf) return;
    const std::size_t n = std::min(msg.size(), std::size_t{MYSQL_ERRMSG_SIZE - 1});
    std::memcpy(buf, msg.data(), n);
    buf[n] = '\0';
}

// "[rowcast.<component>.<errc>] <where>: <what>" without the bracket: the server shows only
// the first 80 characters of an init message ("Can't initialize function '…'; %-.80s").
std::string without_code(std::string m) {
    if (m.rfind("[rowcast.", 0) == 0)
        if (const std::size_t sp = m.find("] "); sp != std::string::npos) m.erase(0, sp + 2);
    return m;
}

// "[rowcast.spool.io_error] <dir>: <what>: <strerror>" -> "<what>: <strerror>: <dir>", reason first.
std::string spool_reason_first(const std::string& message) {
    std::string m = without_code(message);
    if (const std::size_t colon = m.find(": "); colon != std::string::npos && !m.empty() && m[0] == '/')
        return m.substr(colon + 2) + ": " + m.substr(0, colon);
    return m;
}

// --- Raising an SQL error from a call -------------------------------------------------------
// mariadbd exports my_printf_error (also the plugin service my_print_error_service); we look it
// up at run time so the .so has no undefined symbols and loads where it is missing (MySQL 8):
// there the function returns NULL instead and the generated trigger SIGNALs.
// The server's function `name` as a `Fn` pointer, null where the server does not export it.
template <class Fn>
Fn server_function(const char* name) noexcept {
    void* p = ::dlsym(RTLD_DEFAULT, name);
    Fn f = nullptr;
    static_assert(sizeof p == sizeof f);
    std::memcpy(&f, &p, sizeof f);
    return f;
}
using printf_error_fn = void (*)(unsigned int, const char*, unsigned long, ...);
printf_error_fn server_printf_error() noexcept {
    static const printf_error_fn fn = server_function<printf_error_fn>("my_printf_error");
    return fn;
}
constexpr unsigned er_unknown_error = 1105;  // ER_UNKNOWN_ERROR, SQLSTATE HY000

// --- The statement being executed --------------------------------------------------------------
// mariadbd exports _current_thd() (my_pthread.h) and thd_start_utime() (what InnoDB uses: "high
// resolution timestamp for the current query start time", microseconds; measured the same for every
// row of a 100-row INSERT inside its trigger, and another one for the next statement). Were two
// statements of a session ever to report the same start, the second would see a config change
// within shared_output's max_age (1 s), not at once. Looked up at run time as my_printf_error;
// where either is missing (MySQL 8) the statement is not known (session null) and every init looks
// at the config file, as before.
udf::statement_id current_statement() noexcept {
    using current_thd_fn = void* (*)();
    using start_utime_fn = unsigned long long (*)(const void*);
    struct server_fns {
        current_thd_fn thd = nullptr;
        start_utime_fn start = nullptr;
    };
    static const server_fns fns{server_function<current_thd_fn>("_current_thd"),
                                server_function<start_utime_fn>("thd_start_utime")};
    if (!fns.thd || !fns.start) return {};
    const void* thd = fns.thd();
    if (!thd) return {};
    return {thd, fns.start(thd)};
}

// The config and a spool writer for the codecs this build has, shared by every statement and reopened only when the config
// file's text or the spool directory changes (udf::shared_output, docs/performance.md).
using shared_output = udf::shared_output<binary_codec
#if defined(ROWCAST_UDF_HAVE_JSON)
                                  , json_codec
#endif
#if defined(ROWCAST_UDF_HAVE_YAML)
                                  , yaml_codec
#endif
                                  >;
// output = journal: the process-wide journal writer for the same codecs (udf::journal_output).
using journal_output = udf::journal_output<binary_codec
#if defined(ROWCAST_UDF_HAVE_JSON)
                                  , json_codec
#endif
#if defined(ROWCAST_UDF_HAVE_YAML)
                                  , yaml_codec
#endif
                                  >;

// --- Per call-site state ------------------------------------------------------------------
struct site {
    std::shared_ptr<shared_output::state> shared;  // the config and the spool output in use
    std::shared_ptr<journal_output> journal;        // output = journal: the process-wide writer
#if defined(ROWCAST_UDF_HAVE_DATAGRAM)
    std::shared_ptr<udf::datagram_output> datagram;  // output = udp | netlink: the process-wide producer
#endif
    udf::event_builder builder;
    std::string function;  // "rowcast_event" / "rowcast_json"
    std::vector<udf::argument> args;  // reused per call
    event built;                      // reused per call (event_builder::build(args, event&))
#if defined(ROWCAST_UDF_HAVE_JSON)
    json_codec json;
#endif
    const udf::config& cfg() const noexcept { return shared->cfg; }
};

site* site_of(UDF_INIT* initid) noexcept { return reinterpret_cast<site*>(initid->ptr); }

// Reports a failure of one call: logs it, raises an SQL error when on_error = fail.
long long failure(site& s, long long code, const std::string& what, udf_flag* is_null, udf_flag* error) noexcept {
    udf::call_counters::process_wide().failed(what);
    try {
        const std::string msg = s.function + ": " + what;
        if (s.cfg().fail_on_error) {
            if (auto f = server_printf_error()) f(er_unknown_error, "%s", 0UL, msg.c_str());
            *is_null = 1;
            *error = 1;
            return 0;
        }
        std::fprintf(stderr, "rowcast_udf: event lost (on_error = continue): %s\n", msg.c_str());
    } catch (...) {
        if (s.cfg().fail_on_error) {
            *is_null = 1;
            *error = 1;
            return 0;
        }
    }
    return code;
}

// The return code for a library error.
long long code_of(const rowcast::error& e) noexcept {
    return e.code == make_error_code(errc::limit_exceeded) ? err_too_large : err_argument;
}

// An init failure: the message for the client (the server shows its first 80 characters) and
// the full text in the error log.
void init_failure(char* message, const char* function, const std::string& msg) noexcept {
    udf::call_counters::process_wide().failed(msg);
    set_message(message, msg);
    std::fprintf(stderr, "rowcast_udf: %s: %s\n", function, msg.c_str());
}

// Inside a trigger the server calls _init and _deinit for every row, not once per statement
// (measured: docs/performance.md). The site the last _deinit of a server thread released is kept
// for that thread's next _init, which takes it when the shared state is still the same: the steady
// state allocates no site, argument vector or descriptor key per row, and the site's builder still
// holds the column list of the last call. A spare holds a reference to the state it was made for
// until the thread's next init or its exit (thread_local: destroyed when the server thread ends).
thread_local std::unique_ptr<site> spare_site;

bool common_init(UDF_INIT* initid, char* message, const char* function, std::unique_ptr<site>& out) {
    thread_local const std::string path = udf::default_config_path();  // the server's environment, fixed at its start
    // The config file is looked at once per statement (and at least once a second), not per row.
    auto st = shared_output::process_wide().get(path, current_statement());
    if (!st) {
        const rowcast::error& e = st.error_value();
        // A config error names its file and line; a spool error is put reason first, with the config named.
        const bool spool = e.message.rfind("[rowcast.spool.", 0) == 0;
        init_failure(message, function, spool ? spool_reason_first(e.message) + " (config " + path + ")" : without_code(e.message));
        return false;
    }
    if (spare_site && spare_site->shared == *st && spare_site->function == function) {
        out = std::move(spare_site);
        initid->maybe_null = 1;
        initid->const_item = 0;
        udf::call_counters::process_wide().statement_opened();
        return true;
    }
    const std::size_t max_event_size = (*st)->cfg.max_event_size;
    auto made = std::make_unique<site>(
        site{.shared = std::move(*st), .builder = udf::event_builder(max_event_size), .function = function});
    if (made->cfg().output == udf::config::output_kind::journal) {  // one append per event (docs/journal.md)
        auto j = journal_output::shared(made->cfg());
        if (!j) {
            const std::string& m = j.error_value().message;
            const bool io = m.rfind("[rowcast.journal.", 0) == 0;
            init_failure(message, function, io ? spool_reason_first(m) + " (config " + path + ")" : without_code(m));
            return false;
        }
        made->journal = std::move(*j);
    } else if (made->cfg().output != udf::config::output_kind::spool) {  // where events go: udp / netlink multicast
#if defined(ROWCAST_UDF_HAVE_DATAGRAM)
        auto d = udf::datagram_output::shared(made->cfg());
        if (!d) {
            init_failure(message, function, without_code(d.error_value().message));
            return false;
        }
        made->datagram = std::move(*d);
#else
        init_failure(message, function, "output = udp/netlink: built without the datagram component (" + path + ")");
        return false;
#endif
    }
    out = std::move(made);
    initid->maybe_null = 1;
    initid->const_item = 0;
    udf::call_counters::process_wide().statement_opened();
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

// The server's arguments as the library's: bytes within their lengths (8 for integers and reals).
void to_arguments(const UDF_ARGS* a, std::vector<udf::argument>& out) {
    out.resize(a->arg_count);
    for (unsigned i = 0; i < a->arg_count; ++i) {
        udf::argument& x = out[i];
        x.kind = kind_of(a->arg_type[i]);
        x.null = a->args[i] == nullptr;
        if (x.null) x.bytes = {};
        else if (x.kind == udf::arg_kind::integer) x.bytes = {a->args[i], sizeof(long long)};
        else if (x.kind == udf::arg_kind::real) x.bytes = {a->args[i], sizeof(double)};
        else x.bytes = {a->args[i], a->lengths[i]};
    }
}

// Runs one call's body, turning exceptions into failures.
template <class Body>
long long guarded_call(UDF_INIT* initid, udf_flag* is_null, udf_flag* error, Body&& body) noexcept {
    *is_null = 0;
    site* sp = site_of(initid);
    if (!sp) {
        *is_null = 1;
        *error = 1;
        return 0;
    }
    site& s = *sp;
    try {
        return body(s);
    } catch (const std::bad_alloc&) {
        return failure(s, err_internal, "out of memory", is_null, error);
    } catch (const std::exception& ex) {
        return failure(s, err_internal, std::string("internal error: ") + ex.what(), is_null, error);
    } catch (...) {
        return failure(s, err_internal, "internal error", is_null, error);
    }
}

// Writes the event; 0 or the failure's code.
long long put(site& s, const event& e, udf_flag* is_null, udf_flag* error) {
    // To where the config sends it: the journal, the spool, or the datagram producer.
#if defined(ROWCAST_UDF_HAVE_DATAGRAM)
    auto w = s.journal ? s.journal->write(e) : s.datagram ? s.datagram->write(e) : s.shared->out->write(e);
#else
    auto w = s.journal ? s.journal->write(e) : s.shared->out->write(e);
#endif
    if (!w) return failure(s, err_write, w.error_value().message, is_null, error);
    udf::call_counters::process_wide().event_written();
    return ok;
}

long long event_call(UDF_INIT* initid, UDF_ARGS* a, udf_flag* is_null, udf_flag* error) noexcept {
    return guarded_call(initid, is_null, error, [&](site& s) {
        to_arguments(a, s.args);
        auto e = s.builder.build(s.args, s.built);
        if (!e) {
            const rowcast::error& err = e.error_value();
            std::string what = err.message;
            if (code_of(err) == err_too_large) what += " (" + s.cfg().file + ")";
            return failure(s, code_of(err), what, is_null, error);
        }
        return put(s, s.built, is_null, error);
    });
}

// Releases a site created by an _init: kept as this thread's spare (see spare_site), else freed.
void site_deinit(UDF_INIT* initid) noexcept {
    std::unique_ptr<site> s(site_of(initid));
    initid->ptr = nullptr;
    if (s && !spare_site) spare_site = std::move(s);
}

}  // namespace

// --- counters for the status plugin (rowcast/udf/status.hpp, docs/status-plugin.md) ----------
ROWCAST_UDF_EXPORT int rowcast_udf_read_status_v1(rowcast_udf_status_v1* out, std::size_t out_size) noexcept {
    if (!out || out_size < sizeof(rowcast_udf_status_v1)) return -1;
    *out = udf::call_counters::process_wide().snapshot();
    return 0;
}

// --- rowcast_event -------------------------------------------------------------------------
ROWCAST_UDF_EXPORT udf_bool rowcast_event_init(UDF_INIT* initid, UDF_ARGS* args, char* message) {
    try {
        if (auto ok = udf::event_builder::check_arity(args->arg_count); !ok) {
            init_failure(message, "rowcast_event", without_code(ok.error_value().message));
            return 1;
        }
        // schema, table, operation and the descriptors are strings whatever the caller passed.
        for (unsigned i = 0; i < args->arg_count; ++i)
            if (udf::event_builder::is_text_position(i)) args->arg_type[i] = STRING_RESULT;
        // Constant descriptors are checked now, so a typo fails at the first call with a clear
        // message (non-constant ones, NULL here, are checked per call).
        thread_local std::vector<udf::argument> init_args;
        to_arguments(args, init_args);
        if (auto ok = udf::event_builder::check_descriptors(init_args); !ok) {
            init_failure(message, "rowcast_event", without_code(ok.error_value().message));
            return 1;
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

ROWCAST_UDF_EXPORT void rowcast_event_deinit(UDF_INIT* initid) { site_deinit(initid); }

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

ROWCAST_UDF_EXPORT void rowcast_json_deinit(UDF_INIT* initid) { site_deinit(initid); }

ROWCAST_UDF_EXPORT long long rowcast_json(UDF_INIT* initid, UDF_ARGS* args, udf_flag* is_null, udf_flag* error) {
    return guarded_call(initid, is_null, error, [&](site& s) -> long long {
#if defined(ROWCAST_UDF_HAVE_JSON)
        if (!args->args[0]) return failure(s, err_argument, "the JSON document is NULL", is_null, error);
        if (args->lengths[0] > s.cfg().max_event_size)
            return failure(s, err_too_large,
                           "document of " + std::to_string(args->lengths[0]) + " bytes exceeds max_event_size " +
                               std::to_string(s.cfg().max_event_size) + " (" + s.cfg().file + ")",
                           is_null, error);
        auto r = decode(s.json, std::string_view(args->args[0], args->lengths[0]));
        if (!r) return failure(s, err_argument, r.error_value().message, is_null, error);
        udf::stamp(*r);
        return put(s, *r, is_null, error);
#else
        (void)args;
        return failure(s, err_config, "built without the json codec", is_null, error);
#endif
    });
}
