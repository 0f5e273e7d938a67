# Options. Tests, examples, benchmarks and install rules default to ON only when
# rowcast is the top-level project, so add_subdirectory/FetchContent users get a
# quiet, dependency-light library.
include(GNUInstallDirs)

option(ROWCAST_BUILD_TESTS "Build rowcast's tests" ${PROJECT_IS_TOP_LEVEL})
option(ROWCAST_BUILD_EXAMPLES "Build rowcast's example programs" ${PROJECT_IS_TOP_LEVEL})
option(ROWCAST_BUILD_BENCH "Build rowcast's benchmarks" ${PROJECT_IS_TOP_LEVEL})
option(ROWCAST_BUILD_FUZZERS "Build libFuzzer targets (needs clang)" OFF)
option(ROWCAST_INSTALL "Generate rowcast's install rules" ${PROJECT_IS_TOP_LEVEL})
option(ROWCAST_SANITIZE "Build rowcast's own targets with ASan+UBSan" OFF)
# Components to build: json (nlohmann-json3-dev), yaml (libyaml-cpp-dev), dns (libssl-dev), binlog (zlib1g-dev libzstd-dev libssl-dev), nats (libnats-dev).
# With ROWCAST_REQUIRE_COMPONENTS a missing dependency is an error, otherwise the
# component is skipped with a message.
set(ROWCAST_COMPONENTS "json;yaml;dns;binlog;nats;datagram;daemon" CACHE STRING "rowcast components to build")
option(ROWCAST_REQUIRE_COMPONENTS "Fail if a component's dependency is missing" ${PROJECT_IS_TOP_LEVEL})

if(PROJECT_IS_TOP_LEVEL)
  set(ROWCAST_SYSTEM_INCLUDES "")
else()
  set(ROWCAST_SYSTEM_INCLUDES SYSTEM)  # embedders do not get our headers' warnings
endif()
