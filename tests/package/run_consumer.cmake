# Package test driver, run by ctest as `cmake -D... -P run_consumer.cmake`.
#
#   MODE                install | find_package | core_only | nats | daemon | subdirectory | fetchcontent | probe
#   ROWCAST_SOURCE_DIR  the rowcast source tree
#   ROWCAST_BINARY_DIR  the configured rowcast build that `install` installs
#   PREFIX              the install prefix shared by install / find_package / core_only / probe
#   WORK_DIR            a directory of this test's own, removed first so every run starts fresh
#   CXX, GENERATOR, MAKE_PROGRAM   toolchain of the outer build, reused by the consumer
#   PROBE_VERSION, PROBE_COMPONENTS, EXPECT   (probe) find_package arguments and the regex
#                       its failure output must match
#
# Each mode configures a small project in WORK_DIR, builds it with -j2 and runs
# it; `probe` expects the configure step to fail with a message matching EXPECT.
cmake_minimum_required(VERSION 3.25)

foreach(var MODE ROWCAST_SOURCE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()
set(here "${CMAKE_CURRENT_LIST_DIR}")

# run(<label> <command...>): runs a command, echoes its output, fails the test if it fails.
function(run label)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("---- ${label}: ${ARGN}\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${label} failed (exit ${rc})")
  endif()
endfunction()

if(MODE STREQUAL "install")
  # A fresh install: remove whatever an earlier run left, then install this build.
  file(REMOVE_RECURSE "${PREFIX}")
  run("install" "${CMAKE_COMMAND}" --install "${ROWCAST_BINARY_DIR}" --prefix "${PREFIX}")
  foreach(f share/cmake/rowcast/rowcast-config.cmake share/cmake/rowcast/rowcast-config-version.cmake
            share/cmake/rowcast/rowcast-targets.cmake include/rowcast/rowcast.hpp include/rowcast/fwd.hpp
            include/rowcast/event.hpp)
    if(NOT EXISTS "${PREFIX}/${f}")
      message(FATAL_ERROR "install is missing ${f}")
    endif()
  endforeach()
  # The library is header-only (ARCH_INDEPENDENT); beside it only the programs (bin/rowcast-*, bin/rowcastd),
  # the daemon's systemd unit (lib…/systemd/system/rowcastd.service), the loadable function and the status
  # plugin (lib…/rowcast/rowcast_udf.so, rowcast_status.so) and the docs.
  file(GLOB_RECURSE installed RELATIVE "${PREFIX}" "${PREFIX}/*")
  foreach(f IN LISTS installed)
    if(NOT f MATCHES "^(include/rowcast/|share/cmake/rowcast/|share/doc/rowcast/|bin/rowcast-[a-z-]+$|bin/rowcastd$|lib[^/]*/systemd/system/rowcastd\\.service$|lib[^/]*/([^/]+/)?rowcast/rowcast_(udf|status)\\.so$)")
      message(FATAL_ERROR "unexpected installed file ${f}")
    endif()
  endforeach()
  foreach(f share/doc/rowcast/README.md share/doc/rowcast/programs.md share/doc/rowcast/filters.md)
    if(NOT EXISTS "${PREFIX}/${f}")
      message(FATAL_ERROR "install is missing ${f}")
    endif()
  endforeach()
  list(LENGTH installed n)
  message(STATUS "installed ${n} files into ${PREFIX}")
  return()
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(build "${WORK_DIR}/build")
set(configure_args "")
if(GENERATOR)
  list(APPEND configure_args -G "${GENERATOR}")
endif()
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CXX}")
endif()
# Find only what this test points at: no user package registry, no stray rowcast elsewhere.
list(APPEND configure_args -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Debug)

set(program "")
if(MODE STREQUAL "find_package")
  set(project "${here}/consumer")
  list(APPEND configure_args -DROWCAST_CONSUME=find_package "-DCMAKE_PREFIX_PATH=${PREFIX}")
  set(program consumer)
elseif(MODE STREQUAL "core_only")
  set(project "${here}/core_only")
  # Make any attempt to find a component dependency fail outright.
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${PREFIX}" -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON
       -DCMAKE_DISABLE_FIND_PACKAGE_yaml-cpp=ON)
  set(program core_only)
elseif(MODE STREQUAL "nats")
  set(project "${here}/nats")
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${PREFIX}")
  set(program nats_consumer)
elseif(MODE STREQUAL "daemon")
  set(project "${here}/daemon")
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${PREFIX}")
  set(program daemon_consumer)
elseif(MODE STREQUAL "subdirectory")
  set(project "${here}/consumer")
  list(APPEND configure_args -DROWCAST_CONSUME=subdirectory "-DROWCAST_SOURCE_DIR=${ROWCAST_SOURCE_DIR}")
  set(program consumer)
elseif(MODE STREQUAL "fetchcontent")
  set(project "${here}/consumer")
  # Which FetchContent form: in a git checkout whose tracked files are unchanged
  # (a fresh CI clone, a clean dev tree) fetch it with git at the HEAD commit, as
  # a user pinning a release would, which also proves every file the build needs
  # is committed. With local edits (a dev tree mid-change) HEAD would not be
  # what is being tested, so use SOURCE_DIR, i.e. the directory as it is.
  find_package(Git QUIET)
  set(tag "")
  if(GIT_EXECUTABLE)
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${ROWCAST_SOURCE_DIR}" rev-parse --show-toplevel
                    RESULT_VARIABLE rc OUTPUT_VARIABLE toplevel ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(rc EQUAL 0)
      file(REAL_PATH "${toplevel}" toplevel)
      file(REAL_PATH "${ROWCAST_SOURCE_DIR}" src_real)
    endif()
    if(rc EQUAL 0 AND toplevel STREQUAL src_real)
      execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${ROWCAST_SOURCE_DIR}" status --porcelain --untracked-files=no
                      RESULT_VARIABLE rc1 OUTPUT_VARIABLE dirty ERROR_QUIET)
      execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${ROWCAST_SOURCE_DIR}" rev-parse HEAD
                      RESULT_VARIABLE rc2 OUTPUT_VARIABLE head ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(rc1 EQUAL 0 AND rc2 EQUAL 0 AND dirty STREQUAL "")
        set(tag "${head}")
      endif()
    endif()
  endif()
  if(tag)
    message(STATUS "fetchcontent: GIT_REPOSITORY ${ROWCAST_SOURCE_DIR} GIT_TAG ${tag} (clean git checkout)")
  else()
    message(STATUS "fetchcontent: SOURCE_DIR ${ROWCAST_SOURCE_DIR} (not a clean git checkout)")
  endif()
  list(APPEND configure_args -DROWCAST_CONSUME=fetchcontent "-DROWCAST_SOURCE_DIR=${ROWCAST_SOURCE_DIR}"
       "-DROWCAST_GIT_TAG=${tag}" "-DFETCHCONTENT_BASE_DIR=${WORK_DIR}/deps")
  set(program consumer)
elseif(MODE STREQUAL "probe")
  set(project "${here}/probe")
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${PREFIX}" "-DPROBE_VERSION=${PROBE_VERSION}"
       "-DPROBE_COMPONENTS=${PROBE_COMPONENTS}")
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${project}" -B "${build}" ${configure_args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("---- configure (expected to fail): ${configure_args}\n${out}")
  if(rc EQUAL 0)
    message(FATAL_ERROR "find_package(rowcast ${PROBE_VERSION} COMPONENTS ${PROBE_COMPONENTS}) succeeded; it must fail")
  endif()
  string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")  # CMake wraps long messages
  if(NOT flat MATCHES "${EXPECT}")
    message(FATAL_ERROR "find_package failed, but without the expected message (regex: ${EXPECT})")
  endif()
  message(STATUS "failed as expected")
  return()
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

run("configure" "${CMAKE_COMMAND}" -S "${project}" -B "${build}" ${configure_args})

if(MODE MATCHES "^(find_package|core_only|nats|daemon)$")
  # The package must have come from this test's prefix, not from elsewhere on the machine.
  file(STRINGS "${build}/CMakeCache.txt" dir_line REGEX "^rowcast_DIR:")
  string(REGEX REPLACE "^rowcast_DIR:[A-Z]+=" "" found_dir "${dir_line}")
  file(REAL_PATH "${found_dir}" found_dir)
  file(REAL_PATH "${PREFIX}/share/cmake/rowcast" expected_dir)
  if(NOT found_dir STREQUAL expected_dir)
    message(FATAL_ERROR "rowcast was found in ${found_dir}, expected ${expected_dir}")
  endif()
endif()

run("build" "${CMAKE_COMMAND}" --build "${build}" --parallel 2)
run("run" "${build}/${program}")
