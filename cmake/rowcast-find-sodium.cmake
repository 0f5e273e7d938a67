# Defines the imported target rowcast_sodium::sodium for libsodium (Debian: libsodium-dev).
# Used by the build (rowcast::binlog: the Ed25519 group arithmetic of MariaDB's client_ed25519
# authentication, rowcast/mysql/detail/auth.hpp) and by the installed package config.
if(NOT TARGET rowcast_sodium::sodium)
  find_path(ROWCAST_SODIUM_INCLUDE_DIR sodium.h)
  find_library(ROWCAST_SODIUM_LIBRARY NAMES sodium)
  if(ROWCAST_SODIUM_INCLUDE_DIR AND ROWCAST_SODIUM_LIBRARY)
    add_library(rowcast_sodium::sodium UNKNOWN IMPORTED)
    set_target_properties(rowcast_sodium::sodium PROPERTIES
      IMPORTED_LOCATION "${ROWCAST_SODIUM_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${ROWCAST_SODIUM_INCLUDE_DIR}")
  endif()
endif()
if(TARGET rowcast_sodium::sodium)
  set(rowcast_sodium_FOUND TRUE)
else()
  set(rowcast_sodium_FOUND FALSE)
endif()
