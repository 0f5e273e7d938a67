# rowcast_project_target(<target>): strict warnings (-Wall -Wextra -Werror) and,
# with ROWCAST_SANITIZE, ASan+UBSan for the project's own targets (tests, examples,
# benchmarks). Never applied to the INTERFACE targets users link.
function(rowcast_project_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror
    -Wno-missing-field-initializers)  # designated initializers of column_type are idiomatic
  if(ROWCAST_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
