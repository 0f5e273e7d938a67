# Header checks, run by ctest as `cmake -D... -P check_headers.cmake`:
#  1. (SELF_CONTAINED) every public header compiles on its own and included
#     twice, warning-free with the project's warning set;
#  2. <rowcast/fwd.hpp> agrees with the definitions: fwd.hpp first, then every
#     header, in one translation unit;
#  3. the umbrella <rowcast/rowcast.hpp> and <rowcast/fwd.hpp> pull in neither
#     nlohmann nor yaml-cpp (the core must not cost users those libraries).
#
#   ROWCAST_SOURCE_DIR  source tree;  WORK_DIR  scratch directory (removed first)
#   CXX                 the C++ compiler;  SELF_CONTAINED  ON to run check 1
cmake_minimum_required(VERSION 3.25)

set(inc "${ROWCAST_SOURCE_DIR}/include")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
# The project's warning set (cmake/rowcast-warnings.cmake).
set(flags -std=c++20 -Wall -Wextra -Wpedantic -Werror -Wno-missing-field-initializers "-I${inc}")

# Every public header: include/rowcast/**.hpp except the internals under detail/.
file(GLOB_RECURSE headers RELATIVE "${inc}" "${inc}/rowcast/*.hpp")
list(FILTER headers EXCLUDE REGEX "/detail/")
list(SORT headers)

function(compile label source)
  execute_process(COMMAND "${CXX}" ${flags} -fsyntax-only -x c++ "${source}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${label}: does not compile with ${CXX}\n${out}")
  endif()
  message(STATUS "ok (${CXX}): ${label}")
endfunction()

# 1. each header alone, included twice
set(all "#include <rowcast/fwd.hpp>\n")
foreach(h IN LISTS headers)
  string(APPEND all "#include <${h}>\n")
  if(SELF_CONTAINED)
    string(MAKE_C_IDENTIFIER "${h}" id)
    file(WRITE "${WORK_DIR}/${id}.cpp" "#include <${h}>\n#include <${h}>\n")
    compile("${h} on its own" "${WORK_DIR}/${id}.cpp")
  endif()
endforeach()

# 2. fwd.hpp, then every definition
file(WRITE "${WORK_DIR}/fwd_then_all.cpp" "${all}")
compile("fwd.hpp before every header" "${WORK_DIR}/fwd_then_all.cpp")

# 3. no third-party headers behind the core (preprocessor only)
foreach(h rowcast/rowcast.hpp rowcast/fwd.hpp)
  string(MAKE_C_IDENTIFIER "${h}" id)
  file(WRITE "${WORK_DIR}/deps_${id}.cpp" "#include <${h}>\n")
  execute_process(COMMAND "${CXX}" ${flags} -M -x c++ "${WORK_DIR}/deps_${id}.cpp"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE deps ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${h}: dependency scan failed\n${err}")
  endif()
  if(deps MATCHES "(nlohmann|yaml-cpp|yaml\\.h)")
    message(FATAL_ERROR "<${h}> pulls in ${CMAKE_MATCH_1}; the core must not depend on it:\n${deps}")
  endif()
  message(STATUS "ok (${CXX}): <${h}> includes neither nlohmann nor yaml-cpp")
endforeach()
