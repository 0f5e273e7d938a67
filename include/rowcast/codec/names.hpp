// rowcast/codec/names.hpp: the codec names ("json", "yaml", "binary") and their
// parser, without the codecs themselves (core: no dependency), for configuration
// readers that only check a name. Choosing and building the codec object by name
// is codec/by_name.hpp (json and yaml components).
//
//   auto k = rowcast::parse_codec_name("yaml");   // result<codec_kind>
//   // error: "[rowcast.codec.invalid_value] codec: unknown codec 'xml' (accepted: json, yaml, binary)"
//
// Thread-safety: constants and pure functions.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN

/// The codecs a name can choose.
enum class codec_kind { json, yaml, binary };

/// The accepted codec names, in the order of codec_kind (each codec class's C::name).
inline constexpr std::array<std::string_view, 3> codec_names = {"json", "yaml", "binary"};

/// "json", "yaml", "binary".
constexpr std::string_view to_string(codec_kind k) noexcept { return codec_names[static_cast<std::size_t>(k)]; }

namespace detail::by_name {
template <std::size_t N>
std::string accepted(const std::array<std::string_view, N>& names) {
    std::string s = "(accepted: ";
    for (std::size_t i = 0; i < N; ++i) {
        if (i) s += ", ";
        s += names[i];
    }
    s += ')';
    return s;
}

template <class Enum, std::size_t N>
result<Enum> parse(std::string_view what, std::string_view name, const std::array<std::string_view, N>& names) {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == name) return static_cast<Enum>(i);
    return error::make(errc::invalid_value, "codec", what,
                       "unknown " + std::string(what) + " '" + std::string(name) + "' " + accepted(names));
}
}  // namespace detail::by_name

/// Parses "json", "yaml" or "binary" (exactly, lower case).
inline result<codec_kind> parse_codec_name(std::string_view name) {
    return detail::by_name::parse<codec_kind>("codec", name, codec_names);
}

ROWCAST_NAMESPACE_END
