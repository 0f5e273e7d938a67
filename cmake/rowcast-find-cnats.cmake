# Defines the imported target rowcast_cnats::nats for the NATS C client cnats
# (Debian: libnats-dev). Used by the build (rowcast::nats) and by the installed package config.
# Debian 12's own cnats-config.cmake cannot be used: it also declares cnats::nats_static,
# whose libnats_static.a the package does not ship, and find_package(cnats) then stops
# the configuration with a fatal error (QUIET does not help). So: find_path/find_library.
if(NOT TARGET rowcast_cnats::nats)
  find_path(ROWCAST_CNATS_INCLUDE_DIR nats/nats.h)
  find_library(ROWCAST_CNATS_LIBRARY NAMES nats)
  find_package(Threads QUIET)
  if(ROWCAST_CNATS_INCLUDE_DIR AND ROWCAST_CNATS_LIBRARY AND Threads_FOUND)
    add_library(rowcast_cnats::nats UNKNOWN IMPORTED)
    set_target_properties(rowcast_cnats::nats PROPERTIES
      IMPORTED_LOCATION "${ROWCAST_CNATS_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${ROWCAST_CNATS_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
endif()
if(TARGET rowcast_cnats::nats)
  set(rowcast_cnats_FOUND TRUE)
else()
  set(rowcast_cnats_FOUND FALSE)
endif()
