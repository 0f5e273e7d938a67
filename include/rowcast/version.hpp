// rowcast/version.hpp: library version and the ABI namespace macros.
//
// Every public entity lives in `rowcast::v0` (an inline namespace), so two
// incompatible rowcast versions linked into one program fail to link instead
// of silently mixing layouts.
#pragma once

#define ROWCAST_VERSION_MAJOR 0
#define ROWCAST_VERSION_MINOR 1
#define ROWCAST_VERSION_PATCH 0
/// Single integer for comparisons: major * 10000 + minor * 100 + patch.
#define ROWCAST_VERSION (ROWCAST_VERSION_MAJOR * 10000 + ROWCAST_VERSION_MINOR * 100 + ROWCAST_VERSION_PATCH)

#define ROWCAST_NAMESPACE_BEGIN \
    namespace rowcast {         \
    inline namespace v0 {
#define ROWCAST_NAMESPACE_END \
    }                         \
    }

ROWCAST_NAMESPACE_BEGIN
/// The library version as "major.minor.patch".
inline constexpr const char* version_string = "0.1.0";
ROWCAST_NAMESPACE_END
