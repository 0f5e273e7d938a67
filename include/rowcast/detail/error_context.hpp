// Internal: adding context to an error's message after the fact.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <string>
#include <string_view>
#include <utility>

ROWCAST_NAMESPACE_BEGIN
namespace detail {

/// "[rowcast.<component>.<errc>] <rest>" -> "[rowcast.<component>.<errc>] <where>: <rest>"
/// (a message without the bracket gets "<where>: " in front). The code is kept.
inline error with_where(error e, std::string_view where) {
    const std::size_t at = e.message.rfind("[rowcast.", 0) == 0 ? e.message.find("] ") : std::string::npos;
    e.message.insert(at == std::string::npos ? 0 : at + 2, std::string(where) + ": ");
    return e;
}

}  // namespace detail
ROWCAST_NAMESPACE_END
