# Runs an example and compares its standard output with a committed expected-output file,
# line by line; on a difference, prints the first differing line of each.
#   cmake -DPROGRAM=<executable> -DEXPECTED=<file> -P compare_output.cmake
# SPDX-License-Identifier: Apache-2.0
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${PROGRAM} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}:\n${out}\n${err}")
endif()
file(READ ${EXPECTED} expected)
if(NOT out STREQUAL expected)
  string(REPLACE "\n" ";" got_lines "${out}")
  string(REPLACE "\n" ";" expected_lines "${expected}")
  list(LENGTH got_lines got_n)
  list(LENGTH expected_lines expected_n)
  set(line 0)
  while(line LESS got_n AND line LESS expected_n)
    list(GET got_lines ${line} got)
    list(GET expected_lines ${line} want)
    if(NOT got STREQUAL want)
      break()
    endif()
    math(EXPR line "${line} + 1")
  endwhile()
  math(EXPR shown "${line} + 1")
  message(FATAL_ERROR "the output of ${PROGRAM} differs from ${EXPECTED} at line ${shown}:\n"
                      "  expected: ${want}\n  got:      ${got}\nwhole output:\n${out}")
endif()
message(STATUS "output matches ${EXPECTED}")
