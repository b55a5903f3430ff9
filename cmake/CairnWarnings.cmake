# cairn_set_warnings(<target>): strict warnings on cairn's own code (dependencies are system headers).
function(cairn_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(CAIRN_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
