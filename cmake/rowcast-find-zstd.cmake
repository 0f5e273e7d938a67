# Defines the imported target rowcast_zstd::zstd for libzstd (Debian: libzstd-dev).
# Used by the build (rowcast::binlog) and by the installed package config.
# Prefers zstd's own CMake config when present, else find_path/find_library.
if(NOT TARGET rowcast_zstd::zstd)
  find_package(zstd CONFIG QUIET)
  if(TARGET zstd::libzstd_shared)
    add_library(rowcast_zstd::zstd INTERFACE IMPORTED)
    set_target_properties(rowcast_zstd::zstd PROPERTIES INTERFACE_LINK_LIBRARIES zstd::libzstd_shared)
  else()
    find_path(ROWCAST_ZSTD_INCLUDE_DIR zstd.h)
    find_library(ROWCAST_ZSTD_LIBRARY NAMES zstd)
    if(ROWCAST_ZSTD_INCLUDE_DIR AND ROWCAST_ZSTD_LIBRARY)
      add_library(rowcast_zstd::zstd UNKNOWN IMPORTED)
      set_target_properties(rowcast_zstd::zstd PROPERTIES
        IMPORTED_LOCATION "${ROWCAST_ZSTD_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${ROWCAST_ZSTD_INCLUDE_DIR}")
    endif()
  endif()
endif()
if(TARGET rowcast_zstd::zstd)
  set(rowcast_zstd_FOUND TRUE)
else()
  set(rowcast_zstd_FOUND FALSE)
endif()
