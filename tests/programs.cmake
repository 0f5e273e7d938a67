# test_programs (tests/test_programs.cpp): every program built from examples/ run as a
# child process: --help, --version, usage errors, the --opt=value form, filters, codecs.
# Included from examples/CMakeLists.txt once the program targets exist (ctest label "example").
find_package(GTest REQUIRED)
include(GoogleTest)
set(_rowcast_programs "")
set(_rowcast_program_targets "")
foreach(_p IN ITEMS rowcast-demo rowcast-spool-tail rowcast-binlog rowcast-dns rowcast-triggers)
  if(TARGET ${_p})
    list(APPEND _rowcast_programs "${_p}=$<TARGET_FILE:${_p}>")
    list(APPEND _rowcast_program_targets ${_p})
  endif()
endforeach()
list(JOIN _rowcast_programs "," _rowcast_programs)
add_executable(test_programs ${PROJECT_SOURCE_DIR}/tests/test_programs.cpp)
target_link_libraries(test_programs PRIVATE rowcast::rowcast rowcast::json rowcast::yaml GTest::gmock GTest::gtest_main)
target_include_directories(test_programs PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_compile_definitions(test_programs PRIVATE "ROWCAST_PROGRAMS=\"${_rowcast_programs}\""
                           ROWCAST_BINLOG_FIXTURES="${PROJECT_SOURCE_DIR}/tests/data/binlog")
add_dependencies(test_programs ${_rowcast_program_targets})
if(TARGET rowcast::binlog)
  target_link_libraries(test_programs PRIVATE rowcast::binlog)  # reads and cuts a binlog fixture
endif()
rowcast_project_target(test_programs)
gtest_discover_tests(test_programs TEST_PREFIX "test_programs." DISCOVERY_TIMEOUT 60 PROPERTIES LABELS example)
