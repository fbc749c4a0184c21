# ctest helper: runs the MPI job and passes when it exits non-zero and names the failing rank.
execute_process(COMMAND ${MPIEXEC} ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
if(code EQUAL 0 OR NOT "${out}${err}" MATCHES "metarec: rank 1: the task shard could not be read")
  message(FATAL_ERROR "expected a non-zero exit naming rank 1, got '${code}':\n${out}${err}")
endif()
message(STATUS "the job stopped: ${code}")
