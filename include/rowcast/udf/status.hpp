// rowcast/udf/status.hpp: the loadable functions' counters, and how other code in
// the same server process reads them (the status plugin, docs/status-plugin.md).
//
// rowcast_udf.so counts, process-wide since it was loaded: statements (call sites
// opened by rowcast_event_init/rowcast_json_init), events written into the spool,
// failures (calls or inits that raised an SQL error or returned a non-zero code)
// and the last failure's message and time. They live in `udf::call_counters`
// (one per loaded library, never destroyed) and leave the library only through
// one exported C function, versioned by its struct:
//
//   extern "C" int rowcast_udf_read_status_v1(rowcast_udf_status_v1* out, std::size_t out_size);
//
// It fills *out (out->version = 1, out->size = sizeof) and returns 0, or returns
// -1 without writing when out_size < sizeof(rowcast_udf_status_v1). A later
// version adds fields at the end and a new function name; v1 stays.
//
// udf::loaded_status(path) calls it in whichever copy of the library the process
// has loaded from `path`, without loading it (dlopen RTLD_NOLOAD; the reference
// is dropped again before returning, so DROP FUNCTION can still unload it):
// nullopt when the library is not loaded or has no such function. The counters
// restart at zero when the server loads the library again.
//
// Thread-safety: call_counters' members may be called from any number of threads
// (atomic counters; the last message under a mutex); loaded_status() is
// reentrant (the dynamic loader serialises it with a concurrent unload).
#pragma once

#include <rowcast/version.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <dlfcn.h>

extern "C" {
/// A snapshot of rowcast_udf.so's counters, layout version 1 (plain C data).
struct rowcast_udf_status_v1 {
    std::uint32_t version;            ///< 1
    std::uint32_t size;               ///< sizeof(rowcast_udf_status_v1) in the library that filled it
    std::uint64_t statements;         ///< call sites opened since the library was loaded
    std::uint64_t events_written;     ///< events placed in the spool
    std::uint64_t failures;           ///< failed calls and inits
    std::int64_t last_error_unix_us;  ///< when the last failure happened (µs since the epoch); 0: none yet
    char last_error[512];             ///< its message, NUL-terminated (cut at 511 bytes); empty: none yet
};
}

ROWCAST_NAMESPACE_BEGIN
namespace udf {

/// The exported snapshot function's name and type.
inline constexpr char status_symbol[] = "rowcast_udf_read_status_v1";
using status_function = int (*)(rowcast_udf_status_v1* out, std::size_t out_size) noexcept;

/// The counters of one loaded library.
class call_counters {
public:
    void statement_opened() noexcept { statements_.fetch_add(1, std::memory_order_relaxed); }
    void event_written() noexcept { written_.fetch_add(1, std::memory_order_relaxed); }

    /// Counts a failure and keeps `message` as the last one.
    void failed(std::string_view message) noexcept {
        failures_.fetch_add(1, std::memory_order_relaxed);
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        try {
            std::lock_guard lock(mutex_);
            const std::size_t n = std::min(message.size(), sizeof last_ - 1);
            std::memcpy(last_, message.data(), n);
            last_[n] = '\0';
            last_us_ = now;
        } catch (...) {  // std::system_error from lock(): the counter above still moved
        }
    }

    /// The counters now.
    rowcast_udf_status_v1 snapshot() const noexcept {
        rowcast_udf_status_v1 s{};
        s.version = 1;
        s.size = sizeof s;
        s.statements = statements_.load(std::memory_order_relaxed);
        s.events_written = written_.load(std::memory_order_relaxed);
        s.failures = failures_.load(std::memory_order_relaxed);
        try {
            std::lock_guard lock(mutex_);
            std::memcpy(s.last_error, last_, sizeof s.last_error);
            s.last_error_unix_us = last_us_;
        } catch (...) {
        }
        return s;
    }

    /// One per loaded library, never destroyed (no static destructor runs at dlclose
    /// while another thread is inside a call; see column_cache::process_wide()).
    static call_counters& process_wide() {
        alignas(call_counters) static unsigned char storage[sizeof(call_counters)];
        static call_counters* const c = std::construct_at(reinterpret_cast<call_counters*>(storage));
        return *c;
    }

private:
    std::atomic<std::uint64_t> statements_{0}, written_{0}, failures_{0};
    mutable std::mutex mutex_;  // guards last_ and last_us_
    char last_[sizeof(rowcast_udf_status_v1::last_error)] = {};
    std::int64_t last_us_ = 0;
};

/// The counters of the rowcast_udf.so this process loaded from `library` (a path), read
/// without loading it; nullopt when it is not loaded or has no rowcast_udf_read_status_v1().
inline std::optional<rowcast_udf_status_v1> loaded_status(const std::string& library) noexcept {
    void* h = ::dlopen(library.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (!h) return std::nullopt;
    std::optional<rowcast_udf_status_v1> out;
    if (void* sym = ::dlsym(h, status_symbol)) {
        status_function f = nullptr;
        static_assert(sizeof sym == sizeof f);
        std::memcpy(&f, &sym, sizeof f);
        rowcast_udf_status_v1 s{};
        if (f(&s, sizeof s) == 0 && s.version == 1) out = s;
    }
    ::dlclose(h);
    return out;
}

}  // namespace udf
ROWCAST_NAMESPACE_END
