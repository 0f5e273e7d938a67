// rowcast/udf/call.hpp: events from the arguments of rowcast_event() (docs/udf.md).
//
//   rowcast_event(schema, table, operation, desc1, old1, new1, desc2, old2, new2, … [, outbox_id])
//
// The optional last argument (transactional mode, docs/udf.md) is the id of the
// outbox row the trigger inserted in the same transaction: an integer 1..2^64-1
// (or its decimal text); the event then carries transaction.id = "outbox:<id>"
// (udf/outbox.hpp), which udf::outbox_gate checks before the event goes on.
//
// The caller (the loadable function's C entry points) turns each UDF argument
// into a `udf::argument` (kind, bytes, null) and hands the list to an
// `event_builder`, which parses the descriptors (udf/columns.hpp; column lists
// are cached by schema, table and descriptor text), converts every old/new
// value to its column's type and returns the event, stamped with the capture
// time and the trigger path's sequence (see stamp()). No server header needed.
//
// Errors (result<T>), "[rowcast.udf.<errc>] argument <n>: <what>" with n counted
// from 1 as in SQL: invalid_value (a NULL schema, table, operation or
// descriptor; an operation other than insert/update/delete; a value that does
// not fit its column, naming old/new, the column and the table), syntax_error
// (a descriptor that does not parse), limit_exceeded (more argument bytes than
// max_event_size; integers and reals count 8 bytes), unsupported (a wrong
// argument count), invalid_value (an outbox id that is NULL, 0 or not a number). Nothing throws but std::bad_alloc.
//
// Thread-safety: an event_builder is used by one thread at a time (one per call
// site); a column_cache may be shared by any number of threads.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/detail/error_context.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/transport/spool_writer.hpp>
#include <rowcast/udf/columns.hpp>
#include <rowcast/udf/detail/columns.hpp>
#include <rowcast/udf/outbox.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <charconv>
#include <chrono>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::udf {
using rowcast::detail::with_where;
inline std::string argument_name(std::size_t index) { return "argument " + std::to_string(index + 1); }
}  // namespace detail::udf

namespace udf {

/// One argument of a call, as the server passes it.
struct argument {
    arg_kind kind = arg_kind::string;
    std::string_view bytes;  ///< integer/real: the 8 bytes of the long long/double; else the value's bytes
    bool null = false;       ///< SQL NULL (bytes ignored)

    /// Bytes counted against max_event_size: 8 for integers and reals, else the length; 0 when NULL.
    std::size_t size() const noexcept {
        if (null) return 0;
        return kind == arg_kind::integer || kind == arg_kind::real ? 8 : bytes.size();
    }
};

/// "insert"/"i", "update"/"u", "delete"/"d", in any case; nullopt for anything else.
inline std::optional<event_kind> parse_operation(std::string_view op) noexcept {
    using detail::udf::iequals;
    if (iequals(op, "insert") || iequals(op, "i")) return event_kind::insert;
    if (iequals(op, "update") || iequals(op, "u")) return event_kind::update;
    if (iequals(op, "delete") || iequals(op, "d")) return event_kind::delete_;
    return std::nullopt;
}

/// Fills what a call does not say: capture_time (now, if zero) and sequence (if 0):
/// nanoseconds since the epoch, strictly increasing across all calls in this
/// process (the clock that orders the spool's file names), the trigger path's GSN.
inline void stamp(event& e) {
    if (e.capture_time.time_since_epoch().count() == 0)
        e.capture_time = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    if (e.sequence == 0) e.sequence = detail::next_spool_stamp();
}

/// Column lists by (schema, table, descriptor text), shared by call sites and threads.
/// Bounded: cleared when it holds max_entries lists.
class column_cache {
public:
    static constexpr std::size_t max_entries = 1024;

    /// The list cached under `key`, or null.
    columns_ptr find(const std::string& key) const {
        std::shared_lock lock(mutex_);
        const auto it = map_.find(key);
        return it == map_.end() ? nullptr : it->second;
    }

    void insert(const std::string& key, columns_ptr columns) {
        std::unique_lock lock(mutex_);
        if (map_.size() >= max_entries) map_.clear();
        map_.emplace(key, std::move(columns));
    }

    /// One cache per process (per loaded library), never destroyed: constructed on first
    /// use and its destructor never runs, so no static destructor can run at DROP FUNCTION
    /// (dlclose) or server shutdown while another thread is inside a call.
    static column_cache& process_wide() {
        alignas(column_cache) static unsigned char storage[sizeof(column_cache)];
        static column_cache* const cache = std::construct_at(reinterpret_cast<column_cache*>(storage));
        return *cache;
    }

private:
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, columns_ptr> map_;
};

/// Builds events from rowcast_event()'s arguments. One per call site.
class event_builder {
public:
    /// `max_event_size`: bytes of argument data per event (argument::size()).
    explicit event_builder(std::size_t max_event_size, column_cache& cache = column_cache::process_wide())
        : max_event_size_(max_event_size), cache_(&cache) {}

    /// Checks an argument count: 3 + 3*N with N >= 1, plus 1 with an outbox id at the end.
    static result<void> check_arity(std::size_t count) {
        if (count >= 6 && (count - 3) % 3 != 2) return {};
        return error::make(errc::unsupported, "udf", "",
                           "expected 3 + 3*N arguments (+1: an outbox id), got " + std::to_string(count) +
                               ": schema, table, operation, then descriptor, old, new per column");
    }

    /// True when a call with `count` arguments ends with an outbox id.
    static bool has_outbox_id(std::size_t count) noexcept { return count >= 7 && (count - 3) % 3 == 1; }

    /// The index just after the last descriptor/old/new triple of a call with `count` arguments.
    static std::size_t columns_end(std::size_t count) noexcept { return has_outbox_id(count) ? count - 1 : count; }

    /// True for the positions of the arguments that are always strings (schema, table,
    /// operation, descriptors, the outbox id): the server is asked to pass them as strings.
    static bool is_text_position(std::size_t index) noexcept { return index < 3 || index % 3 == 0; }

    /// Checks the descriptor at position `index` (a constant one, at init time). A descriptor
    /// that parsed once is remembered in `cache` (inside a trigger the init runs for every
    /// row: the text is then looked up, not parsed again).
    static result<void> check_descriptor(std::size_t index, std::string_view descriptor,
                                         column_cache& cache = column_cache::process_wide()) {
        thread_local std::string key;
        key.assign(1, '\x01');  // apart from columns_for()'s keys, which start with the schema name
        key.append(descriptor);
        if (cache.find(key)) return {};
        auto c = parse_descriptor(descriptor);
        if (!c) return detail::udf::with_where(std::move(c.error_value()), detail::udf::argument_name(index));
        cache.insert(key, make_columns({std::move(*c)}));
        return {};
    }

    /// check_descriptor() for each constant descriptor of an init's arguments (`args[i].null`:
    /// not constant, checked per call by build()). Skipped when the descriptors are, byte for
    /// byte and at the same positions, those of the calling thread's previous successful
    /// check_descriptors() with the same cache: inside a trigger the init runs for every row
    /// with the same descriptors (docs/performance.md). No allocation once its two per-thread
    /// buffers have grown to the longest descriptor list.
    static result<void> check_descriptors(std::span<const argument> args,
                                          column_cache& cache = column_cache::process_wide()) {
        thread_local std::string last, now;  // [cache address][per descriptor: position, length, bytes]
        now.clear();
        auto put = [](std::string& out, std::size_t n) { out.append(reinterpret_cast<const char*>(&n), sizeof n); };
        put(now, reinterpret_cast<std::uintptr_t>(&cache));
        const std::size_t end = columns_end(args.size());
        for (std::size_t i = 3; i < end; i += 3) {
            if (args[i].null) continue;
            put(now, i);
            put(now, args[i].bytes.size());
            now.append(args[i].bytes);
        }
        if (now == last) return {};
        for (std::size_t i = 3; i < end; i += 3)
            if (!args[i].null)
                if (auto ok = check_descriptor(i, args[i].bytes, cache); !ok) return ok;
        last.swap(now);
        return {};
    }

    /// The event of one call, stamped (stamp()).
    result<event> build(std::span<const argument> args) {
        event e;
        if (auto r = build(args, e); !r) return std::move(r.error_value());
        return e;
    }

    /// build() into `e`, which is overwritten (every field as build() would make it); the memory
    /// of its schema, table, value vectors and text values is reused, so a call site that keeps
    /// one event allocates nothing per call for a row like the previous one (text values that
    /// grow excepted). Errors: build()'s; `e` is then unspecified.
    result<void> build(std::span<const argument> args, event& e) {
        using detail::udf::argument_name;
        if (auto ok = check_arity(args.size()); !ok) return ok.error_value();
        static constexpr const char* names[] = {"schema", "table", "operation"};
        for (std::size_t i = 0; i < 3; ++i)
            if (args[i].null) return error::make(errc::invalid_value, "udf", argument_name(i), std::string(names[i]) + " is NULL");
        recycle(e);
        if (auto k = parse_operation(args[2].bytes)) e.kind = *k;
        else
            return error::make(errc::invalid_value, "udf", argument_name(2),
                               "operation must be insert, update or delete, not '" + detail::udf::excerpt(args[2].bytes) + "'");
        std::size_t total = 0;
        for (const auto& a : args) total += a.size();
        if (total > max_event_size_)
            return error::make(errc::limit_exceeded, "udf", "",
                               "event of " + std::to_string(total) + " bytes of values exceeds max_event_size " +
                                   std::to_string(max_event_size_));
        auto cols = columns_for(args);
        if (!cols) return std::move(cols.error_value());
        e.columns = std::move(*cols);
        e.schema.assign(args[0].bytes);
        e.table.assign(args[1].bytes);
        const std::size_t n = e.columns->size();
        const bool want_before = e.kind != event_kind::insert;
        const bool want_after = e.kind != event_kind::delete_;
        e.before.resize(want_before ? n : 0);
        e.after.resize(want_after ? n : 0);
        for (std::size_t c = 0; c < n; ++c) {
            for (int img = 0; img < 2; ++img) {
                if (img == 0 ? !want_before : !want_after) continue;
                const std::size_t i = 3 + 3 * c + 1 + static_cast<std::size_t>(img);
                value& v = img == 0 ? e.before[c] : e.after[c];
                if (args[i].null) {
                    v = null_value{};
                    continue;
                }
                if (auto r = convert_argument((*e.columns)[c], args[i].kind, args[i].bytes, v); !r)
                    return detail::udf::with_where(std::move(r.error_value()),
                                                   argument_name(i) + " (" + (img == 0 ? "old" : "new") +
                                                       " value, table `" + e.schema + "`.`" + e.table + "`)");
            }
        }
        if (has_outbox_id(args.size())) {
            auto id = outbox_argument(args.back(), args.size() - 1);
            if (!id) return std::move(id.error_value());
            e.transaction.id = outbox_transaction_id(*id);
        }
        stamp(e);
        return {};
    }

private:
    // `e` reset to a default event, keeping the memory of its schema, table and value vectors.
    static void recycle(event& e) {
        std::string schema = std::move(e.schema), table = std::move(e.table);
        std::vector<value> before = std::move(e.before), after = std::move(e.after);
        e = event{};
        e.schema = std::move(schema);
        e.table = std::move(table);
        e.before = std::move(before);
        e.after = std::move(after);
    }

    // The outbox id: an integer, or its decimal text (the server passes it as a string).
    static result<std::uint64_t> outbox_argument(const argument& a, std::size_t index) {
        const auto where = detail::udf::argument_name(index) + " (outbox id)";
        if (a.null) return error::make(errc::invalid_value, "udf", where, "is NULL");
        std::uint64_t id = 0;
        if (a.kind == arg_kind::integer && a.bytes.size() == sizeof(long long)) {
            long long v = 0;
            std::memcpy(&v, a.bytes.data(), sizeof v);
            id = static_cast<std::uint64_t>(v);  // the outbox id is unsigned: the bits as they are
        } else {
            const char* b = a.bytes.data();
            const char* end = b + a.bytes.size();
            if (a.bytes.empty() || std::from_chars(b, end, id).ptr != end)
                return error::make(errc::invalid_value, "udf", where, "'" + detail::udf::excerpt(a.bytes) + "' is not an id");
        }
        if (id == 0) return error::make(errc::invalid_value, "udf", where, "is 0");
        return id;
    }

    // The column list for this call's descriptors: this builder's last list if the
    // descriptors are the same, else the shared cache, else parsed (and cached).
    result<columns_ptr> columns_for(std::span<const argument> args) {
        std::string& key = scratch_key_;
        key.clear();
        for (std::size_t i = 0; i < 2; ++i) {
            key.append(args[i].bytes);
            key += '\0';
        }
        const std::size_t end = columns_end(args.size());
        for (std::size_t i = 3; i < end; i += 3) {
            if (args[i].null)
                return error::make(errc::invalid_value, "udf", "",
                                   "column descriptor (" + detail::udf::argument_name(i) + ") is NULL");
            key += std::to_string(args[i].bytes.size());
            key += ':';
            key.append(args[i].bytes);
        }
        if (columns_ && key == key_) return columns_;
        if (auto hit = cache_->find(key)) {
            key_ = key;
            columns_ = std::move(hit);
            return columns_;
        }
        std::vector<column> cols;
        cols.reserve((end - 3) / 3);
        for (std::size_t i = 3; i < end; i += 3) {
            auto c = parse_descriptor(args[i].bytes);
            if (!c) return detail::udf::with_where(std::move(c.error_value()), detail::udf::argument_name(i));
            cols.push_back(std::move(*c));
        }
        columns_ = make_columns(std::move(cols));
        key_ = key;
        cache_->insert(key_, columns_);
        return columns_;
    }

    std::size_t max_event_size_;
    column_cache* cache_;
    std::string key_, scratch_key_;  // the last list's key; the key being built
    columns_ptr columns_;
};

}  // namespace udf
ROWCAST_NAMESPACE_END
