# Defines the imported targets of the daemon component's dependencies, through pkg-config:
#   PkgConfig::ROWCAST_HTTPLIB  cpp-httplib (Debian: libcpp-httplib-dev; Debian builds it as a
#                               library, libcpp-httplib.so, whose header needs the .pc's defines)
#   PkgConfig::ROWCAST_SYSTEMD  libsystemd (Debian: libsystemd-dev): sd_notify
# Used by the build (rowcast::daemon) and by the installed package config.
# Sets rowcast_daemon_deps_FOUND.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  if(NOT TARGET PkgConfig::ROWCAST_HTTPLIB)
    pkg_check_modules(ROWCAST_HTTPLIB QUIET IMPORTED_TARGET GLOBAL cpp-httplib)
  endif()
  if(NOT TARGET PkgConfig::ROWCAST_SYSTEMD)
    pkg_check_modules(ROWCAST_SYSTEMD QUIET IMPORTED_TARGET GLOBAL libsystemd)
  endif()
endif()
find_package(Threads QUIET)
if(TARGET PkgConfig::ROWCAST_HTTPLIB AND TARGET PkgConfig::ROWCAST_SYSTEMD AND Threads_FOUND)
  set(rowcast_daemon_deps_FOUND TRUE)
else()
  set(rowcast_daemon_deps_FOUND FALSE)
endif()
