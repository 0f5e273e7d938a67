# Tests against private MariaDB servers (ctest label "mariadb"). Included from
# tests/CMakeLists.txt. Each test starts its own mariadbd (tests/support/mariadb_server.hpp),
# so they need the server packages: mariadb-server (mariadbd, mariadb-install-db, mariadb-admin)
# and libmariadb-dev (Connector/C: the support code's own client for setting the servers up,
# tests/support/mariadb_server.hpp; rowcast itself uses its own). Missing pieces skip these tests with a message.
find_program(ROWCAST_MARIADBD mariadbd PATHS /usr/sbin /usr/local/sbin)
find_path(ROWCAST_MARIADB_CLIENT_INCLUDE mysql.h PATH_SUFFIXES mariadb)
find_library(ROWCAST_MARIADB_CLIENT_LIB NAMES mariadb)

if(NOT ROWCAST_MARIADBD OR NOT ROWCAST_MARIADB_CLIENT_INCLUDE OR NOT ROWCAST_MARIADB_CLIENT_LIB)
  rowcast_test_component(mariadb MISSING "need mariadbd and libmariadb-dev")
  return()
endif()
rowcast_test_component(mariadb FOUND)

# rowcast_mariadb_test(<name> [ONE_PROCESS] SOURCES <files...> [LIBS <targets...>] [DEPENDS <targets...>] [DEFINES <defs...>])
# ONE_PROCESS: one ctest test "<name>.all" running the whole binary, so a server started once per
# suite (SetUpTestSuite) serves every test of it instead of one server per test.
function(rowcast_mariadb_test name)
  cmake_parse_arguments(ARG "ONE_PROCESS" "" "SOURCES;LIBS;DEPENDS;DEFINES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE rowcast::rowcast ${ARG_LIBS} ${ROWCAST_MARIADB_CLIENT_LIB}
                                        GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_include_directories(${name} SYSTEM PRIVATE ${ROWCAST_MARIADB_CLIENT_INCLUDE})
  target_compile_definitions(${name} PRIVATE ${ARG_DEFINES})
  rowcast_project_target(${name})
  if(ARG_DEPENDS)
    add_dependencies(${name} ${ARG_DEPENDS})
  endif()
  if(ARG_ONE_PROCESS)
    add_test(NAME ${name}.all COMMAND ${name})
    set_tests_properties(${name}.all PROPERTIES LABELS mariadb TIMEOUT 600)
  else()
    gtest_discover_tests(${name} TEST_PREFIX "${name}." DISCOVERY_TIMEOUT 60
                         PROPERTIES LABELS mariadb TIMEOUT 600)
  endif()
endfunction()

rowcast_mariadb_test(test_mariadb_harness SOURCES test_mariadb_harness.cpp)
if(TARGET rowcast::binlog AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_binlog_live.cpp)
  rowcast_mariadb_test(test_binlog_live SOURCES test_binlog_live.cpp LIBS rowcast::binlog)  # binlog parser vs SELECT
endif()
if(TARGET rowcast::binlog AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_mysql_connect.cpp)
  if(ROWCAST_BUILD_EXAMPLES AND TARGET rowcast::json AND TARGET rowcast::yaml)  # also drives rowcast-binlog's TLS flags
    rowcast_mariadb_test(test_mysql_connect ONE_PROCESS SOURCES test_mysql_connect.cpp LIBS rowcast::binlog DEPENDS rowcast-binlog
                         DEFINES ROWCAST_BINLOG_EXE="$<TARGET_FILE:rowcast-binlog>"
                                 ROWCAST_BINLOG_FIXTURES="${PROJECT_SOURCE_DIR}/tests/data/binlog")
  else()
    rowcast_mariadb_test(test_mysql_connect ONE_PROCESS SOURCES test_mysql_connect.cpp LIBS rowcast::binlog  # TLS, authentication
                         DEFINES ROWCAST_BINLOG_FIXTURES="${PROJECT_SOURCE_DIR}/tests/data/binlog")
  endif()
endif()
if(TARGET rowcast::binlog AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_binlog_columns.cpp)
  rowcast_mariadb_test(test_binlog_columns SOURCES test_binlog_columns.cpp LIBS rowcast::binlog)  # column types vs SELECT
endif()
if(TARGET rowcast::binlog AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_binlog_stream.cpp)
  if(ROWCAST_BUILD_EXAMPLES AND TARGET rowcast::json AND TARGET rowcast::yaml)  # also drives rowcast-binlog (examples/)
    rowcast_mariadb_test(test_binlog_stream SOURCES test_binlog_stream.cpp LIBS rowcast::binlog DEPENDS rowcast-binlog
                         DEFINES ROWCAST_BINLOG_EXE="$<TARGET_FILE:rowcast-binlog>")
  else()
    rowcast_mariadb_test(test_binlog_stream SOURCES test_binlog_stream.cpp LIBS rowcast::binlog)  # replication stream
  endif()
endif()
if(TARGET rowcast::binlog AND ROWCAST_BUILD_EXAMPLES AND TARGET rowcast::json AND TARGET rowcast::yaml
   AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_binlog_resume.cpp)  # kill -9 rowcast-binlog --spool, exactly once
  rowcast_mariadb_test(test_binlog_resume SOURCES test_binlog_resume.cpp LIBS rowcast::binlog DEPENDS rowcast-binlog
                       DEFINES ROWCAST_BINLOG_EXE="$<TARGET_FILE:rowcast-binlog>")
endif()

if(TARGET rowcast::binlog AND ROWCAST_BUILD_EXAMPLES AND TARGET rowcast::json AND TARGET rowcast::yaml
   AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_sql_sink.cpp)  # the database sink: kill -9 of rowcast-binlog --sink
  if(TARGET rowcast::daemon AND EXISTS ${PROJECT_SOURCE_DIR}/examples/daemon/main.cpp)  # also kill -9 of rowcastd (examples/, defined later)
    rowcast_mariadb_test(test_sql_sink SOURCES test_sql_sink.cpp LIBS rowcast::binlog DEPENDS rowcast-binlog rowcastd
                         DEFINES ROWCAST_BINLOG_EXE="$<TARGET_FILE:rowcast-binlog>" ROWCASTD_EXE="$<TARGET_FILE:rowcastd>")
  else()
    rowcast_mariadb_test(test_sql_sink SOURCES test_sql_sink.cpp LIBS rowcast::binlog DEPENDS rowcast-binlog
                         DEFINES ROWCAST_BINLOG_EXE="$<TARGET_FILE:rowcast-binlog>")
  endif()
endif()

# The loadable function and the trigger generator are built under examples/.
set(ROWCAST_MARIADB_SERVER_INCLUDE /usr/include/mariadb/server CACHE PATH "MariaDB server headers (mysql.h for UDFs)")
if(NOT ROWCAST_BUILD_EXAMPLES OR NOT EXISTS ${PROJECT_SOURCE_DIR}/examples/udf/CMakeLists.txt
   OR NOT EXISTS ${ROWCAST_MARIADB_SERVER_INCLUDE}/mysql.h)
  rowcast_test_component(udf MISSING "need ROWCAST_BUILD_EXAMPLES and libmariadbd-dev")
else()
  rowcast_test_component(udf FOUND)
  set(_rowcast_udf_defs ROWCAST_UDF_SO="$<TARGET_FILE:rowcast_udf>"
                        ROWCAST_TRIGGERS_EXE="$<TARGET_FILE:rowcast-triggers>")
  set(_rowcast_udf_deps rowcast_udf rowcast-triggers)
  # The status plugin (examples/status-plugin, built after tests/), tested beside the functions in test_udf.
  if(EXISTS ${PROJECT_SOURCE_DIR}/examples/status-plugin/CMakeLists.txt
     AND EXISTS ${ROWCAST_MARIADB_SERVER_INCLUDE}/mysql/plugin.h)
    list(APPEND _rowcast_udf_defs ROWCAST_STATUS_SO="$<TARGET_FILE:rowcast_status>")
    list(APPEND _rowcast_udf_deps rowcast_status)
  endif()
  set(_rowcast_udf_libs "")
  if(TARGET rowcast::binlog)  # test_udf's outbox store: rowcast's client (rowcast/mysql/connection.hpp)
    list(APPEND _rowcast_udf_libs rowcast::binlog)
  endif()
  if(TARGET rowcast::json)
    list(APPEND _rowcast_udf_libs rowcast::json)
  endif()
  if(TARGET rowcast::yaml)
    list(APPEND _rowcast_udf_libs rowcast::yaml)
  endif()
  foreach(t IN ITEMS test_udf test_triggers test_trigger_path)
    if(t STREQUAL "test_udf" AND (NOT TARGET rowcast::json OR NOT TARGET rowcast::yaml))
      message(STATUS "rowcast: test_udf skipped (needs the json and yaml components)")
    elseif(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${t}.cpp)
      rowcast_mariadb_test(${t} SOURCES ${t}.cpp LIBS ${_rowcast_udf_libs}
                           DEPENDS ${_rowcast_udf_deps} DEFINES ${_rowcast_udf_defs})
      if(t STREQUAL "test_udf" AND TARGET rowcast::datagram)  # Udf.SendsStraightToUdpMulticast
        target_link_libraries(test_udf PRIVATE rowcast::datagram)
        target_compile_definitions(test_udf PRIVATE ROWCAST_TEST_UDF_DATAGRAM=1)
      endif()
    endif()
  endforeach()
endif()
if(TARGET rowcast::binlog AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_schema_history.cpp)
  if(ROWCAST_BUILD_EXAMPLES AND TARGET rowcast::json AND TARGET rowcast::yaml)  # also drives rowcast-binlog --schema-history
    rowcast_mariadb_test(test_schema_history SOURCES test_schema_history.cpp LIBS rowcast::binlog DEPENDS rowcast-binlog
                         DEFINES ROWCAST_BINLOG_EXE="$<TARGET_FILE:rowcast-binlog>")
  else()
    rowcast_mariadb_test(test_schema_history SOURCES test_schema_history.cpp LIBS rowcast::binlog)  # schema history vs ALTERs
  endif()
endif()
if(TARGET rowcast::binlog AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_snapshot.cpp)  # initial snapshot + stream
  set(_rowcast_snapshot_deps "")
  set(_rowcast_snapshot_defs "")
  if(ROWCAST_BUILD_EXAMPLES AND TARGET rowcast::json AND TARGET rowcast::yaml)  # also drives rowcast-binlog --snapshot
    list(APPEND _rowcast_snapshot_deps rowcast-binlog)
    list(APPEND _rowcast_snapshot_defs ROWCAST_BINLOG_EXE="$<TARGET_FILE:rowcast-binlog>")
  endif()
  if(ROWCAST_BUILD_EXAMPLES AND TARGET rowcast::daemon)  # and rowcastd's binlog source with snapshot: (defined later)
    list(APPEND _rowcast_snapshot_deps rowcastd)
    list(APPEND _rowcast_snapshot_defs ROWCASTD_EXE="$<TARGET_FILE:rowcastd>")
  endif()
  rowcast_mariadb_test(test_snapshot SOURCES test_snapshot.cpp LIBS rowcast::binlog DEPENDS ${_rowcast_snapshot_deps}
                       DEFINES ${_rowcast_snapshot_defs})
endif()
