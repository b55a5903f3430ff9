# Runs PROGRAM DATA_DIR on an empty DATA_DIR; fails when it exits non-zero.
file(REMOVE_RECURSE "${DATA_DIR}")
execute_process(COMMAND "${PROGRAM}" "${DATA_DIR}" RESULT_VARIABLE exit_code)
file(REMOVE_RECURSE "${DATA_DIR}")
if(NOT exit_code EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${exit_code}")
endif()
