// rowcast/error.hpp: error codes, the rowcast error category, and result<T>.
//
// rowcast's core never throws on bad input: decoders and transports return a
// `result<T>` that holds either a value or an `error` (an std::error_code in
// the rowcast category plus a message naming what is wrong and where: byte
// offset, field path, file name). `result<T>::value()` is the throwing
// convenience: it throws `rowcast::exception` (an std::system_error) carrying
// the same code and message.
//
// Message format, stable and testable: "[rowcast.<component>.<errc>] <where>: <what>",
// e.g. "[rowcast.binary.truncated] at byte 17: string length 300 exceeds the 12 bytes left".
//
// Thread-safety: all types here are plain values; the category object is a
// immutable singleton safe to use from any thread.
#pragma once

#include <rowcast/version.hpp>

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

ROWCAST_NAMESPACE_BEGIN

/// Error conditions reported by rowcast. Values are stable (they travel in logs).
enum class errc : int {
    truncated = 1,          ///< input ends before a complete item
    bad_magic,              ///< input is not in the expected format at all
    unsupported_version,    ///< a format version this build does not know
    limit_exceeded,         ///< a length/count is over the configured maximum
    invalid_value,          ///< a value is malformed (bad date, bad UTF-8 where required, bad number…)
    type_mismatch,          ///< a value has the wrong type for its field or column
    missing_field,          ///< a required field is absent
    syntax_error,           ///< text input that does not parse (JSON, YAML)
    trailing_data,          ///< bytes left over after a complete item where none are allowed
    io_error,               ///< an operating-system call failed (errno in the message)
    unsupported,            ///< a feature or kind this component cannot handle
    unavailable,            ///< a peer or resource cannot serve now (refused, reset, timed out, busy): retry later
    refused,                ///< a peer refused for good (authentication, permissions, its configuration): do not retry
    not_found,              ///< a named input (a file given by the user, a table) does not exist
};

namespace detail {
class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "rowcast"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::truncated: return "input truncated";
            case errc::bad_magic: return "not in the expected format";
            case errc::unsupported_version: return "unsupported format version";
            case errc::limit_exceeded: return "configured limit exceeded";
            case errc::invalid_value: return "invalid value";
            case errc::type_mismatch: return "type mismatch";
            case errc::missing_field: return "missing field";
            case errc::syntax_error: return "syntax error";
            case errc::trailing_data: return "trailing data";
            case errc::io_error: return "I/O error";
            case errc::unsupported: return "unsupported";
            case errc::unavailable: return "unavailable";
            case errc::refused: return "refused for good";
            case errc::not_found: return "not found";
        }
        return "unknown rowcast error";
    }
};
}  // namespace detail

/// The rowcast error category (name "rowcast").
inline const std::error_category& error_category() noexcept {
    static const detail::error_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

/// Short stable name of an errc value ("truncated", "bad_magic", …), used in message prefixes.
constexpr std::string_view to_string(errc e) noexcept {
    switch (e) {
        case errc::truncated: return "truncated";
        case errc::bad_magic: return "bad_magic";
        case errc::unsupported_version: return "unsupported_version";
        case errc::limit_exceeded: return "limit_exceeded";
        case errc::invalid_value: return "invalid_value";
        case errc::type_mismatch: return "type_mismatch";
        case errc::missing_field: return "missing_field";
        case errc::syntax_error: return "syntax_error";
        case errc::trailing_data: return "trailing_data";
        case errc::io_error: return "io_error";
        case errc::unsupported: return "unsupported";
        case errc::unavailable: return "unavailable";
        case errc::refused: return "refused";
        case errc::not_found: return "not_found";
    }
    return "unknown";
}

/// Error conditions that span every error category (compare with `==`:
/// `e.code == rowcast::condition::transient`).
///
/// transient: the operation failed because of the moment, not because of its
/// input: retrying the same operation later may succeed, and the data must be
/// kept for that retry, never dropped. Which codes are transient:
///   - rowcast category: io_error (an operating-system call failed: disk full,
///     permissions being fixed, a directory being recreated) and unavailable;
///     every other rowcast code is about the content and is permanent;
///   - generic and system categories (errno values): EAGAIN, EINTR, EBUSY, ENOSPC,
///     EDQUOT, EMFILE, ENFILE, ENOMEM, ENOBUFS, EIO, ECONNREFUSED, ECONNRESET,
///     ECONNABORTED, EPIPE, ETIMEDOUT, EHOSTUNREACH, EHOSTDOWN, ENETUNREACH,
///     ENETDOWN, ENETRESET, ESHUTDOWN, ENOTCONN, EINPROGRESS, EALREADY;
///   - other rowcast categories (e.g. "rowcast.dns") say so themselves by
///     overriding std::error_category::equivalent(int, const std::error_condition&);
///   - any other category: not transient.
enum class condition : int {
    transient = 1,
};

namespace detail {
inline bool transient_errno(int e) noexcept {
    switch (e) {
        case EAGAIN: case EINTR: case EBUSY: case ENOSPC: case EDQUOT: case EMFILE: case ENFILE:
        case ENOMEM: case ENOBUFS: case EIO: case ECONNREFUSED: case ECONNRESET: case ECONNABORTED:
        case EPIPE: case ETIMEDOUT: case EHOSTUNREACH: case EHOSTDOWN: case ENETUNREACH: case ENETDOWN:
        case ENETRESET: case ESHUTDOWN: case ENOTCONN: case EINPROGRESS: case EALREADY:
            return true;
        default:
            return false;
    }
}

class condition_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "rowcast.condition"; }
    std::string message(int ev) const override {
        return ev == static_cast<int>(condition::transient) ? "transient failure: retry later" : "unknown condition";
    }
    bool equivalent(const std::error_code& code, int cond) const noexcept override {
        if (cond != static_cast<int>(condition::transient)) return false;
        const auto& cat = code.category();
        if (cat == rowcast::error_category())
            return code.value() == static_cast<int>(errc::io_error) ||
                   code.value() == static_cast<int>(errc::unavailable);
        if (cat == std::generic_category() || cat == std::system_category()) return transient_errno(code.value());
        return false;
    }
};
}  // namespace detail

/// The category of rowcast::condition (name "rowcast.condition").
inline const std::error_category& condition_category() noexcept {
    static const detail::condition_category_impl instance;
    return instance;
}

inline std::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

/// An error: a code for programs and a message for people.
struct error {
    std::error_code code;
    std::string message;  ///< "[rowcast.<component>.<errc>] <where>: <what>"

    /// Builds the standard message. `component` is e.g. "binary", "json", "yaml";
    /// `where` is e.g. "at byte 17" or "at $.new.id".
    static error make(errc e, std::string_view component, std::string_view where, std::string_view what) {
        std::string m;
        m.reserve(24 + component.size() + where.size() + what.size());
        m += "[rowcast.";
        m += component;
        m += '.';
        m += to_string(e);
        m += "] ";
        m += where;
        if (!where.empty()) m += ": ";
        m += what;
        return {make_error_code(e), std::move(m)};
    }
};

/// Thrown by the throwing convenience layer (`result<T>::value()`, `decode_or_throw`, …).
class exception : public std::system_error {
public:
    explicit exception(const error& e) : std::system_error(e.code, e.message) {}
};

/// Either a T or an error. A small stand-in for C++23 std::expected.
template <class T>
class [[nodiscard]] result {
public:
    result(T v) : v_(std::in_place_index<0>, std::move(v)) {}           // NOLINT: implicit by design
    result(error e) : v_(std::in_place_index<1>, std::move(e)) {}       // NOLINT: implicit by design

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The value; throws rowcast::exception if this holds an error.
    T& value() & { check(); return std::get<0>(v_); }
    const T& value() const& { check(); return std::get<0>(v_); }
    T&& value() && { check(); return std::get<0>(std::move(v_)); }

    T& operator*() & noexcept { return *std::get_if<0>(&v_); }
    const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
    T* operator->() noexcept { return std::get_if<0>(&v_); }
    const T* operator->() const noexcept { return std::get_if<0>(&v_); }

    /// The error; precondition: !has_value().
    const error& error_value() const& noexcept { return *std::get_if<1>(&v_); }
    error& error_value() & noexcept { return *std::get_if<1>(&v_); }

private:
    void check() const {
        if (v_.index() != 0) throw exception(*std::get_if<1>(&v_));
    }
    std::variant<T, error> v_;
};

/// result<void>: success or an error.
template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(error e) : e_(std::move(e)), ok_(false) {}  // NOLINT: implicit by design
    bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    void value() const {
        if (!ok_) throw exception(e_);
    }
    const error& error_value() const& noexcept { return e_; }

private:
    error e_{};
    bool ok_ = true;
};

/// True if retrying later may succeed (see rowcast::condition::transient).
inline bool is_transient(const error& e) noexcept { return e.code == make_error_condition(condition::transient); }

ROWCAST_NAMESPACE_END

template <>
struct std::is_error_code_enum<rowcast::errc> : std::true_type {};
template <>
struct std::is_error_condition_enum<rowcast::condition> : std::true_type {};
