# ctest helper: runs PROGRAM with ARGS (a ;-list) and passes when it exits with code 2 and
# writes exactly one line to stderr (the command-line tools' contract for bad input), matching
# the regex EXPECT when given.
execute_process(COMMAND ${PROGRAM} ${ARGS} RESULT_VARIABLE code OUTPUT_QUIET ERROR_VARIABLE err)
string(STRIP "${err}" err)
string(REGEX MATCHALL "\n" newlines "${err}")
list(LENGTH newlines lines)
if(NOT code EQUAL 2 OR err STREQUAL "" OR lines GREATER 0)
  message(FATAL_ERROR "expected exit code 2 and one line on stderr, got ${code}: '${err}'")
endif()
if(DEFINED EXPECT AND NOT err MATCHES "${EXPECT}")
  message(FATAL_ERROR "the message does not match '${EXPECT}': '${err}'")
endif()
message(STATUS "exit 2: ${err}")
