# Install rules: headers, one export set per target (so a consumer's
# find_package pulls a component's dependency only when that component is
# requested), package config + version file. Header-only: ARCH_INDEPENDENT, under share/.
# The docs go to share/doc/rowcast (component docs); the programs (component programs,
# bin/) and the loadable function (component udf, ROWCAST_UDF_INSTALL_DIR) are installed
# by examples/CMakeLists.txt when they are built. docs/programs.md "Install".
include(CMakePackageConfigHelpers)

set(ROWCAST_CMAKE_DIR "${CMAKE_INSTALL_DATADIR}/cmake/rowcast")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/rowcast" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(TARGETS rowcast EXPORT rowcast-targets)
install(EXPORT rowcast-targets NAMESPACE rowcast:: DESTINATION "${ROWCAST_CMAKE_DIR}")
foreach(component IN LISTS ROWCAST_BUILT_COMPONENTS)
  install(TARGETS rowcast_${component} EXPORT rowcast-${component}-targets)
  install(EXPORT rowcast-${component}-targets NAMESPACE rowcast:: DESTINATION "${ROWCAST_CMAKE_DIR}")
endforeach()

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/rowcast-config.cmake.in"
  "${PROJECT_BINARY_DIR}/rowcast-config.cmake"
  INSTALL_DESTINATION "${ROWCAST_CMAKE_DIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/rowcast-config-version.cmake"
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/rowcast-config.cmake" "${PROJECT_BINARY_DIR}/rowcast-config-version.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/rowcast-find-zstd.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/rowcast-find-sodium.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/rowcast-find-cnats.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/rowcast-find-daemon.cmake"
        DESTINATION "${ROWCAST_CMAKE_DIR}")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/docs/" DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT docs)
install(FILES "${PROJECT_SOURCE_DIR}/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT docs)
