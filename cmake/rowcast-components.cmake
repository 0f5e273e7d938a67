# Component targets. Each is an INTERFACE target that adds one dependency to rowcast::rowcast.
#   rowcast::json  nlohmann_json (Debian: nlohmann-json3-dev)
#   rowcast::yaml  yaml-cpp      (Debian: libyaml-cpp-dev)
#   rowcast::binlog zlib + zstd + OpenSSL (Crypto and SSL) + libsodium (Debian: zlib1g-dev libzstd-dev
#                  libssl-dev libsodium-dev): also rowcast's MySQL client (rowcast/mysql/: the replication
#                  stream and mysql::connection, used by the schema provider, the snapshot reader, the SQL sink, the outbox
#                  store and rowcast-triggers), its TLS and authentication plugins (libsodium for
#                  MariaDB's client_ed25519). No libmariadb.
#   rowcast::dns   OpenSSL::Crypto (Debian: libssl-dev): RFC 2136 updates with TSIG
#                  (rowcast/dns/config_yaml.hpp, the YAML service config, also needs rowcast::yaml:
#                  link both; no separate target, the two components together are what it needs)
#   rowcast::datagram OpenSSL::Crypto + Threads (Debian: libssl-dev): netlink and UDP multicast
#                  transports with HMAC-SHA256 (rowcast/datagram/, docs/datagram.md)
#   rowcast::nats  cnats (Debian: libnats-dev; rowcast-find-cnats.cmake): JetStream producer and consumer
# The Spread transport (rowcast/spread/) is no component: it needs no library (plain sockets) and is part
# of rowcast::rowcast (tests/package/core_only compiles it without any component).
#   rowcast::daemon cpp-httplib + libsystemd (Debian: libcpp-httplib-dev libsystemd-dev;
#                  rowcast-find-daemon.cmake) and the json, yaml, dns and binlog components (and
#                  nats and datagram when built): rowcast/daemon/*.hpp, what rowcastd is made of
set(ROWCAST_BUILT_COMPONENTS "")

macro(_rowcast_component_missing name dep package)
  if(ROWCAST_REQUIRE_COMPONENTS)
    message(FATAL_ERROR "rowcast: component '${name}' needs ${dep} (Debian package ${package})")
  else()
    message(STATUS "rowcast: component '${name}' skipped: ${dep} not found (Debian package ${package})")
  endif()
endmacro()

if("json" IN_LIST ROWCAST_COMPONENTS)
  find_package(nlohmann_json 3.10 QUIET)
  if(nlohmann_json_FOUND)
    add_library(rowcast_json INTERFACE)
    add_library(rowcast::json ALIAS rowcast_json)
    set_target_properties(rowcast_json PROPERTIES EXPORT_NAME json)
    target_link_libraries(rowcast_json INTERFACE rowcast::rowcast nlohmann_json::nlohmann_json)
    list(APPEND ROWCAST_BUILT_COMPONENTS json)
  else()
    _rowcast_component_missing(json nlohmann_json nlohmann-json3-dev)
  endif()
endif()

if("yaml" IN_LIST ROWCAST_COMPONENTS)
  find_package(yaml-cpp 0.6 QUIET)
  if(yaml-cpp_FOUND)
    add_library(rowcast_yaml INTERFACE)
    add_library(rowcast::yaml ALIAS rowcast_yaml)
    set_target_properties(rowcast_yaml PROPERTIES EXPORT_NAME yaml)
    if(TARGET yaml-cpp::yaml-cpp)
      target_link_libraries(rowcast_yaml INTERFACE rowcast::rowcast yaml-cpp::yaml-cpp)
    else()
      target_link_libraries(rowcast_yaml INTERFACE rowcast::rowcast yaml-cpp)
    endif()
    list(APPEND ROWCAST_BUILT_COMPONENTS yaml)
  else()
    _rowcast_component_missing(yaml yaml-cpp libyaml-cpp-dev)
  endif()
endif()

if("dns" IN_LIST ROWCAST_COMPONENTS)
  find_package(OpenSSL 1.1 QUIET COMPONENTS Crypto)
  if(OpenSSL_FOUND)
    add_library(rowcast_dns INTERFACE)
    add_library(rowcast::dns ALIAS rowcast_dns)
    set_target_properties(rowcast_dns PROPERTIES EXPORT_NAME dns)
    target_link_libraries(rowcast_dns INTERFACE rowcast::rowcast OpenSSL::Crypto)
    list(APPEND ROWCAST_BUILT_COMPONENTS dns)
  else()
    _rowcast_component_missing(dns OpenSSL libssl-dev)
  endif()
endif()

if("binlog" IN_LIST ROWCAST_COMPONENTS)
  find_package(ZLIB QUIET)
  include(${CMAKE_CURRENT_LIST_DIR}/rowcast-find-zstd.cmake)
  include(${CMAKE_CURRENT_LIST_DIR}/rowcast-find-sodium.cmake)
  find_package(OpenSSL 1.1.1 QUIET COMPONENTS Crypto SSL)
  find_package(Threads QUIET)  # the replication client resolves host names on a helper thread
  if(ZLIB_FOUND AND rowcast_zstd_FOUND AND rowcast_sodium_FOUND AND OpenSSL_FOUND AND Threads_FOUND)
    add_library(rowcast_binlog INTERFACE)
    add_library(rowcast::binlog ALIAS rowcast_binlog)
    set_target_properties(rowcast_binlog PROPERTIES EXPORT_NAME binlog)
    target_link_libraries(rowcast_binlog INTERFACE rowcast::rowcast ZLIB::ZLIB rowcast_zstd::zstd OpenSSL::SSL
                                                   OpenSSL::Crypto rowcast_sodium::sodium Threads::Threads)
    list(APPEND ROWCAST_BUILT_COMPONENTS binlog)
  else()
    _rowcast_component_missing(binlog "zlib, zstd, OpenSSL and libsodium" "zlib1g-dev libzstd-dev libssl-dev libsodium-dev")
  endif()
endif()

if("nats" IN_LIST ROWCAST_COMPONENTS)
  include(${CMAKE_CURRENT_LIST_DIR}/rowcast-find-cnats.cmake)
  if(rowcast_cnats_FOUND)
    add_library(rowcast_nats INTERFACE)
    add_library(rowcast::nats ALIAS rowcast_nats)
    set_target_properties(rowcast_nats PROPERTIES EXPORT_NAME nats)
    target_link_libraries(rowcast_nats INTERFACE rowcast::rowcast rowcast_cnats::nats)
    list(APPEND ROWCAST_BUILT_COMPONENTS nats)
  else()
    _rowcast_component_missing(nats cnats libnats-dev)
  endif()
endif()

if("datagram" IN_LIST ROWCAST_COMPONENTS)
  find_package(OpenSSL 3.0 QUIET COMPONENTS Crypto)  # EVP_MAC
  find_package(Threads QUIET)                        # the producer's service thread
  if(OpenSSL_FOUND AND Threads_FOUND)
    add_library(rowcast_datagram INTERFACE)
    add_library(rowcast::datagram ALIAS rowcast_datagram)
    set_target_properties(rowcast_datagram PROPERTIES EXPORT_NAME datagram)
    target_link_libraries(rowcast_datagram INTERFACE rowcast::rowcast OpenSSL::Crypto Threads::Threads)
    list(APPEND ROWCAST_BUILT_COMPONENTS datagram)
  else()
    _rowcast_component_missing(datagram "OpenSSL 3" libssl-dev)
  endif()
endif()

if("daemon" IN_LIST ROWCAST_COMPONENTS)
  include(${CMAKE_CURRENT_LIST_DIR}/rowcast-find-daemon.cmake)
  if(rowcast_daemon_deps_FOUND AND TARGET rowcast_json AND TARGET rowcast_yaml AND TARGET rowcast_dns AND TARGET rowcast_binlog)
    add_library(rowcast_daemon INTERFACE)
    add_library(rowcast::daemon ALIAS rowcast_daemon)
    set_target_properties(rowcast_daemon PROPERTIES EXPORT_NAME daemon)
    target_link_libraries(rowcast_daemon INTERFACE rowcast_json rowcast_yaml rowcast_dns rowcast_binlog
                                                   PkgConfig::ROWCAST_HTTPLIB PkgConfig::ROWCAST_SYSTEMD Threads::Threads)
    if(TARGET rowcast_nats)
      target_link_libraries(rowcast_daemon INTERFACE rowcast_nats)
      target_compile_definitions(rowcast_daemon INTERFACE ROWCAST_DAEMON_NATS=1)
    endif()
    if(TARGET rowcast_datagram)  # the udp and netlink types
      target_link_libraries(rowcast_daemon INTERFACE rowcast_datagram)
      target_compile_definitions(rowcast_daemon INTERFACE ROWCAST_DAEMON_DATAGRAM=1)
    endif()
    list(APPEND ROWCAST_BUILT_COMPONENTS daemon)
  else()
    _rowcast_component_missing(daemon "cpp-httplib, libsystemd and the json, yaml, dns and binlog components"
                               "libcpp-httplib-dev libsystemd-dev")
  endif()
endif()
