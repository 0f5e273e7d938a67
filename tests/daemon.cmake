# test_daemon (tests/test_daemon.cpp): rowcastd end to end against a private mariadbd and a
# private named (labels "mariadb;named"). Included from tests/CMakeLists.txt after mariadb.cmake;
# rowcastd itself is defined later by examples/CMakeLists.txt (with the daemon component and the
# examples), which $<TARGET_FILE:rowcastd> and add_dependencies accept.
find_program(ROWCAST_NAMED named PATHS /usr/sbin /usr/local/sbin)
if(TARGET rowcast::daemon AND ROWCAST_BUILD_EXAMPLES AND COMMAND rowcast_mariadb_test AND ROWCAST_NAMED
   AND EXISTS ${PROJECT_SOURCE_DIR}/tests/test_daemon.cpp AND EXISTS ${PROJECT_SOURCE_DIR}/examples/daemon/main.cpp)
  add_executable(test_daemon ${PROJECT_SOURCE_DIR}/tests/test_daemon.cpp)
  target_link_libraries(test_daemon PRIVATE rowcast::daemon ${ROWCAST_MARIADB_CLIENT_LIB} GTest::gmock GTest::gtest_main)
  target_include_directories(test_daemon PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_include_directories(test_daemon SYSTEM PRIVATE ${ROWCAST_MARIADB_CLIENT_INCLUDE})
  target_compile_definitions(test_daemon PRIVATE ROWCASTD_EXE="$<TARGET_FILE:rowcastd>")
  add_dependencies(test_daemon rowcastd)
  rowcast_project_target(test_daemon)
  gtest_discover_tests(test_daemon TEST_PREFIX "test_daemon." DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "mariadb;named" TIMEOUT 300)
  rowcast_test_component(daemon FOUND)
else()
  rowcast_test_component(daemon MISSING "needs the daemon component (libcpp-httplib-dev, libsystemd-dev), the examples, the MariaDB tests and named")
endif()
