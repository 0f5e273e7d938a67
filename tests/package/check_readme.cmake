# README check, run by ctest as `cmake -D... -P check_readme.cmake`: the first
# ```cpp block of README.md must compile (warning-free) and run. Its #include
# lines go to the top of a file, the rest becomes the body of main().
#   ROWCAST_SOURCE_DIR  source tree;  CXX  the C++ compiler;  WORK_DIR  scratch directory
cmake_minimum_required(VERSION 3.25)

file(READ "${ROWCAST_SOURCE_DIR}/README.md" readme)
string(FIND "${readme}" "```cpp\n" begin)
if(begin EQUAL -1)
  message(FATAL_ERROR "README.md has no ```cpp block")
endif()
math(EXPR begin "${begin} + 7")
string(SUBSTRING "${readme}" ${begin} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} snippet)

set(includes "")
set(body "")
set(libs "")
string(REPLACE ";" "\\;" snippet "${snippet}")
string(REPLACE "\n" ";" lines "${snippet}")
foreach(line IN LISTS lines)
  if(line MATCHES "^#include")
    string(APPEND includes "${line}\n")
    if(line MATCHES "yaml.hpp")
      set(libs -lyaml-cpp)
    endif()
  else()
    string(APPEND body "    ${line}\n")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
file(WRITE "${WORK_DIR}/readme.cpp"
  "// Generated from README.md by tests/package/check_readme.cmake.\n${includes}\n"
  "#include <cassert>\n#include <cstdint>\n#include <cstdio>\n#include <string>\n\nint main() {\n${body}}\n")
execute_process(COMMAND "${CXX}" -std=c++20 -Wall -Wextra -Wpedantic -Werror -Wno-missing-field-initializers
                        "-I${ROWCAST_SOURCE_DIR}/include" "${WORK_DIR}/readme.cpp" -o "${WORK_DIR}/readme" ${libs}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  file(READ "${WORK_DIR}/readme.cpp" src)
  message(FATAL_ERROR "the README example does not compile:\n${src}\n${out}")
endif()
execute_process(COMMAND "${WORK_DIR}/readme" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README example failed (exit ${rc}):\n${out}")
endif()
message(STATUS "the README example compiles and runs")
