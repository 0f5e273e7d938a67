// rowcast_status.so: a MariaDB daemon plugin whose status variables show the trigger path's
// counters and the rowcast daemon's state (docs/status-plugin.md).
//
//   INSTALL SONAME 'rowcast_status';
//   SHOW GLOBAL STATUS LIKE 'rowcast%';
//
// rowcast_udf_*    : the counters of the rowcast_udf.so this server has loaded (read through its
//                    exported rowcast_udf_read_status_v1(), rowcast/udf/status.hpp; 'not loaded'
//                    when no function of it exists), and the spool depth of the directory its
//                    config names (a bounded scan, reused for rowcast_spool_scan_interval s).
// rowcast_daemon_* : the daemon's status file (Prometheus text, rowcast/stats_text.hpp) named by
//                    rowcast_status_file, read at each query; older than
//                    rowcast_status_stale_seconds: 'stale'; unreadable or damaged: the reason.
//
// Safety inside the server: every entry point catches every exception; nothing here can stop
// the server; the values live in per-thread storage with no destructor (nothing runs at
// UNINSTALL or thread exit). This file is glue between the plugin ABI and the library.
#include <rowcast/os/atomic_file.hpp>
#include <rowcast/stats_text.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/udf/config.hpp>
#include <rowcast/udf/status.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <ctime>

#include <dlfcn.h>
#include <sys/stat.h>

// MariaDB's plugin interface (libmariadbd-dev: /usr/include/mariadb/server).
#include <mysql_version.h>
#include <mysql/plugin.h>

namespace {

using namespace rowcast;

// --- system variables (read-only: set in my.cnf, e.g. loose-rowcast_status_file=…) ----------
char* status_file = nullptr;
unsigned stale_seconds = 30;
char* udf_library = nullptr;
unsigned spool_scan_interval = 1;

MYSQL_SYSVAR_STR(status_file, status_file, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
                 "The rowcast daemon's status file (Prometheus text); empty: not configured", nullptr, nullptr, "");
MYSQL_SYSVAR_UINT(status_stale_seconds, stale_seconds, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
                  "A status file not rewritten for this many seconds is shown as stale", nullptr, nullptr, 30, 1,
                  86400, 0);
MYSQL_SYSVAR_STR(udf_library, udf_library, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
                 "The loadable function library whose counters are shown (a name in plugin_dir, or a path)",
                 nullptr, nullptr, "rowcast_udf.so");

MYSQL_SYSVAR_UINT(spool_scan_interval, spool_scan_interval, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
                  "Seconds a spool depth count is reused (0: count at every query)", nullptr, nullptr, 1, 0, 3600, 0);

st_mysql_sys_var* system_variables[] = {MYSQL_SYSVAR(status_file), MYSQL_SYSVAR(status_stale_seconds),
                                        MYSQL_SYSVAR(udf_library), MYSQL_SYSVAR(spool_scan_interval), nullptr};

constexpr std::size_t max_status_file = 1 << 20;  // bytes read from the status file at most
constexpr std::size_t max_spool_scan = 100000;    // spool entries counted at most

// --- per-thread storage of the values a SHOW reads (trivially destructible) ---------------
template <std::size_t N>
struct text {
    char s[N];
    void set(std::string_view v) noexcept {
        const std::size_t n = std::min(v.size(), N - 1);
        std::memcpy(s, v.data(), n);
        s[n] = '\0';
    }
};

struct udf_values {
    text<32> state;
    unsigned long long statements, events_written, failures;
    text<512> last_error;
    text<32> last_error_age;
    text<600> spool_depth;
    st_mysql_show_var vars[9];
};

struct daemon_values {
    text<600> state;
    text<32> age_seconds, lag_seconds;
    text<512> position;
    unsigned long long events_in, reconnects, gaps, quarantined;
    text<1024> sinks, sink_queues, sink_events_out;
    st_mysql_show_var vars[13];
};

thread_local udf_values udf_shown;
thread_local daemon_values daemon_shown;

st_mysql_show_var text_var(const char* name, char* value) { return {name, value, SHOW_CHAR}; }
st_mysql_show_var number_var(const char* name, unsigned long long* value) { return {name, reinterpret_cast<char*>(value), SHOW_ULONGLONG}; }

std::string number_text(double v) {
    if (std::isnan(v) || std::isinf(v)) return v > 0 ? "+Inf" : (v < 0 ? "-Inf" : "NaN");
    char b[40];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}

unsigned long long count_of(double v) { return v > 0 && v < 1.8e19 ? static_cast<unsigned long long>(v) : 0; }

// --- the loadable function's side -----------------------------------------------------------
// The UDF library's path: as given if absolute, else next to this plugin (both are in plugin_dir).
std::string udf_library_path() {
    const std::string name = udf_library && *udf_library ? udf_library : "rowcast_udf.so";
    if (name.front() == '/') return name;
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&udf_library_path), &info) == 0 || !info.dli_fname) return name;
    return (std::filesystem::path(info.dli_fname).parent_path() / name).string();
}

// The spool depth of the directory the UDF config names, counted at most once per
// rowcast_spool_scan_interval seconds.
std::string spool_depth() {
    static std::mutex mutex;
    static std::chrono::steady_clock::time_point at;
    static std::string* cached = nullptr;  // leaked on purpose: no static destructor at UNINSTALL
    std::lock_guard lock(mutex);
    const auto now = std::chrono::steady_clock::now();
    if (cached && now - at < std::chrono::seconds(spool_scan_interval)) return *cached;
    std::string v;
    if (auto cfg = udf::load_config(); !cfg) v = "unknown: " + cfg.error_value().message;
    else if (auto n = count_spool_files(cfg->spool_directory, max_spool_scan); !n) v = "unknown: " + n.error_value().message;
    else v = (n->capped ? "at least " : "") + std::to_string(n->files);
    if (!cached) cached = new std::string;  // NOLINT: see above
    *cached = v;
    at = now;
    return v;
}

void fill_udf(udf_values& u) {
    const auto st = udf::loaded_status(udf_library_path());
    u.state.set(st ? "loaded" : "not loaded");
    u.statements = st ? st->statements : 0;
    u.events_written = st ? st->events_written : 0;
    u.failures = st ? st->failures : 0;
    u.last_error.set(st ? st->last_error : "");
    std::string age;
    if (st && st->last_error_unix_us > 0) {
        const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
        age = std::to_string(std::max<long long>(0, (now_us - st->last_error_unix_us) / 1000000));
    }
    u.last_error_age.set(age);
    u.spool_depth.set(spool_depth());
    int i = 0;
    u.vars[i++] = text_var("state", u.state.s);
    u.vars[i++] = number_var("statements", &u.statements);
    u.vars[i++] = number_var("events_written", &u.events_written);
    u.vars[i++] = number_var("failures", &u.failures);
    u.vars[i++] = text_var("last_error", u.last_error.s);
    u.vars[i++] = text_var("last_error_age_seconds", u.last_error_age.s);
    u.vars[i++] = text_var("spool_depth", u.spool_depth.s);
    u.vars[i++] = {nullptr, nullptr, SHOW_UNDEF};
}

// --- the daemon's side ------------------------------------------------------------------------
void fill_daemon(daemon_values& d) {
    d = {};
    std::string state;
    const std::string path = status_file ? status_file : "";
    if (path.empty()) {
        state = "not configured (rowcast_status_file is empty)";
    } else if (struct stat st {}; ::stat(path.c_str(), &st) != 0) {
        state = std::string("unreadable: ") + path + ": " + std::strerror(errno);
    } else if (auto text = read_small_file(path, max_status_file, "status-plugin"); !text) {
        state = "unreadable: " + text.error_value().message;
    } else if (!*text) {
        state = "unreadable: " + path + ": removed while being read";
    } else if (auto m = parse_stats_text(**text, path); !m) {
        state = "unreadable: " + m.error_value().message;
    } else {
        const auto age = std::max<long long>(0, static_cast<long long>(std::time(nullptr)) - st.st_mtim.tv_sec);
        d.age_seconds.set(std::to_string(age));
        const stats_sample* up = m->find("rowcast_up");
        if (!up) state = "unreadable: " + path + ": no rowcast_up sample";
        else if (age > static_cast<long long>(stale_seconds))
            state = "stale: not rewritten for " + std::to_string(age) + " s (rowcast_status_stale_seconds = " +
                    std::to_string(stale_seconds) + "); the values below are its last";
        else state = up->value == 1 ? "up" : "down";
        if (const auto* s = m->find("rowcast_lag_seconds")) d.lag_seconds.set(number_text(s->value));
        if (const auto* s = m->find("rowcast_position_info"))
            if (auto p = s->label("position")) d.position.set(*p);
        if (const auto* s = m->find("rowcast_events_in_total")) d.events_in = count_of(s->value);
        if (const auto* s = m->find("rowcast_reconnects_total")) d.reconnects = count_of(s->value);
        if (const auto* s = m->find("rowcast_gaps_total")) d.gaps = count_of(s->value);
        if (const auto* s = m->find("rowcast_quarantined_total")) d.quarantined = count_of(s->value);
        std::string sinks, queues, out;
        for (const auto& s : m->samples) {
            const auto name = s.label("sink");
            if (!name) continue;
            auto add = [&](std::string& list, std::string_view v) {
                list += (list.empty() ? "" : ",") + std::string(*name) + "=" + std::string(v);
            };
            if (s.name == "rowcast_sink_up") add(sinks, s.value == 1 ? "up" : "down");
            else if (s.name == "rowcast_sink_queue_depth") add(queues, number_text(s.value));
            else if (s.name == "rowcast_sink_events_out_total") add(out, number_text(s.value));
        }
        d.sinks.set(sinks);
        d.sink_queues.set(queues);
        d.sink_events_out.set(out);
    }
    d.state.set(state);
    int i = 0;
    d.vars[i++] = text_var("state", d.state.s);
    d.vars[i++] = text_var("status_age_seconds", d.age_seconds.s);
    d.vars[i++] = text_var("lag_seconds", d.lag_seconds.s);
    d.vars[i++] = text_var("position", d.position.s);
    d.vars[i++] = number_var("events_in", &d.events_in);
    d.vars[i++] = text_var("sinks", d.sinks.s);
    d.vars[i++] = text_var("sink_queue_depth", d.sink_queues.s);
    d.vars[i++] = text_var("sink_events_out", d.sink_events_out.s);
    d.vars[i++] = number_var("reconnects", &d.reconnects);
    d.vars[i++] = number_var("gaps", &d.gaps);
    d.vars[i++] = number_var("quarantined", &d.quarantined);
    d.vars[i++] = {nullptr, nullptr, SHOW_UNDEF};
}

// SHOW_FUNC callbacks: each fills its thread's storage and hands the server an array
// ("rowcast_udf" + "_" + "state" = rowcast_udf_state, …).
template <class Values>
int show_array(st_mysql_show_var* var, Values& v, void (*fill)(Values&)) noexcept {
    try {
        fill(v);
    } catch (...) {  // out of memory: show nothing rather than stop the server
        v.vars[0] = {nullptr, nullptr, SHOW_UNDEF};
    }
    var->type = SHOW_ARRAY;
    var->value = reinterpret_cast<char*>(v.vars);
    return 0;
}
int show_udf(MYSQL_THD, st_mysql_show_var* var, void*, system_status_var*, enum_var_type) {
    return show_array(var, udf_shown, fill_udf);
}
int show_daemon(MYSQL_THD, st_mysql_show_var* var, void*, system_status_var*, enum_var_type) {
    return show_array(var, daemon_shown, fill_daemon);
}
static_assert(std::is_trivially_destructible_v<udf_values> && std::is_trivially_destructible_v<daemon_values>);

st_mysql_show_var status_variables[] = {
    SHOW_FUNC_ENTRY("rowcast_udf", &show_udf),
    SHOW_FUNC_ENTRY("rowcast_daemon", &show_daemon),
    {nullptr, nullptr, SHOW_UNDEF},
};

st_mysql_daemon plugin_info = {MYSQL_DAEMON_INTERFACE_VERSION};

}  // namespace

// The declaration's symbols are what the server looks up: visible (the rest of the library is hidden).
#pragma GCC visibility push(default)
maria_declare_plugin(rowcast_status){
    MYSQL_DAEMON_PLUGIN,
    &plugin_info,
    "rowcast",
    "rowcast",
    "Status of the rowcast trigger path (rowcast_udf.so) and the rowcast daemon",
    PLUGIN_LICENSE_BSD,
    nullptr,
    nullptr,
    0x0100,
    status_variables,
    system_variables,
    "1.0",
    MariaDB_PLUGIN_MATURITY_STABLE,
} maria_declare_plugin_end;
#pragma GCC visibility pop
