# rowcast_project_target(<target>): strict warnings (-Wall -Wextra -Werror) and,
# with ROWCAST_SANITIZE, ASan+UBSan for the project's own targets (tests, examples,
# benchmarks). Never applied to the INTERFACE targets users link.
function(rowcast_project_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror
    -Wno-missing-field-initializers)  # designated initializers of column_type are idiomatic
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # g++ 12's flow-based warnings misfire at -O2/-O3 (Release) on libstdc++'s own
    # std::string code (-Wrestrict, GCC bug 105329) and on a replaced global
    # operator new/delete pair (-Wmismatched-new-delete): known false positives, off.
    target_compile_options(${target} PRIVATE -Wno-restrict -Wno-mismatched-new-delete)
  endif()
  if(ROWCAST_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
