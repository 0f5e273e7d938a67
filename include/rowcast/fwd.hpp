// rowcast/fwd.hpp: forward declarations of rowcast's common types.
//
// Include this in headers that only name rowcast types (in function
// declarations, as pointers or references, as members of a std::shared_ptr),
// so they do not pull in the full definitions; include the real headers
// (<rowcast/event.hpp>, <rowcast/codec/json.hpp>, …) in the .cpp that uses them.
// It pulls in no third-party header (no nlohmann, no yaml-cpp) and only the
// light standard headers needed to spell the aliases.
//
// Declared here                 defined in
//   basic_value, value,         <rowcast/value.hpp>
//   value_view
//   column, column_type,        <rowcast/column.hpp>
//   column_list, columns_ptr
//   basic_event, event,         <rowcast/event.hpp>
//   event_view
//   error, result<T>            <rowcast/error.hpp>
//   binary_codec                <rowcast/codec/binary.hpp>
//   json_codec, json_options    <rowcast/codec/json.hpp>   (component rowcast::json)
//   yaml_codec                  <rowcast/codec/yaml.hpp>   (component rowcast::yaml)
//
// These declarations must match the definitions exactly; tests/package checks
// that a translation unit including fwd.hpp and then every header compiles.
#pragma once

#include <rowcast/version.hpp>

#include <memory>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN

// value.hpp
template <class S>
class basic_value;
using value = basic_value<std::string>;
using value_view = basic_value<std::string_view>;

// column.hpp
struct column_type;
struct column;
struct column_list;
using columns_ptr = std::shared_ptr<const column_list>;

// event.hpp
template <class S>
struct basic_event;
using event = basic_event<std::string>;
using event_view = basic_event<std::string_view>;

// error.hpp
struct error;
template <class T>
class result;

// codec/*.hpp
class binary_codec;
class json_codec;
struct json_options;
class yaml_codec;

ROWCAST_NAMESPACE_END
