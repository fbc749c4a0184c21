# Runs a docs skeleton program: cmake -DPROGRAM=<exe> [-DEXPECT=<regex>] -P run_skeleton.cmake
# Passes when the program exits with 0 and, if EXPECT is given, its output matches EXPECT.
execute_process(COMMAND ${PROGRAM} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
message("${_out}${_err}")
if(NOT _rc STREQUAL "0")
  message(FATAL_ERROR "${PROGRAM} exited with ${_rc}")
endif()
if(NOT "${EXPECT}" STREQUAL "" AND NOT _out MATCHES "${EXPECT}")
  message(FATAL_ERROR "the output of ${PROGRAM} does not match\n${EXPECT}")
endif()
