# metarec: the API reference (Doxygen, HTML of the public headers) and its warning check.
# SPDX-License-Identifier: Apache-2.0
#
# Included from the top-level CMakeLists.txt, after project(metarec ...). When Doxygen is found:
#   - target metarec_docs: `cmake --build <build> --target metarec_docs` writes
#     <build>/docs/api/index.html (configured Doxyfile: <build>/docs/Doxyfile);
#   - with METAREC_BUILD_TESTS, the ctest `docs.doxygen` (label docs) runs doxygen with the same
#     Doxyfile and fails on any warning: an undocumented public entity of include/metarec/
#     (detail/ and namespace detail excepted) or a malformed doc comment
#     (`ctest --test-dir <build> -L docs --output-on-failure`).
# Otherwise it says so and configures neither. Doxygen 1.9.4 (Debian 12) or newer: older ones
# lack WARN_AS_ERROR = FAIL_ON_WARNINGS or misread C++20 concepts.
include_guard(GLOBAL)

find_package(Doxygen 1.9.4 QUIET)  # graphviz (dot) is not needed: HAVE_DOT = NO
if(NOT DOXYGEN_FOUND)
  message(STATUS "metarec: Doxygen >= 1.9.4 not found: the API reference (target metarec_docs) and "
                 "its test (docs.doxygen) are not configured")
  return()
endif()

set(METAREC_DOXYGEN_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/docs")
set(_metarec_doxyfile "${METAREC_DOXYGEN_OUTPUT_DIRECTORY}/Doxyfile")
configure_file("${CMAKE_CURRENT_LIST_DIR}/Doxyfile.in" "${_metarec_doxyfile}" @ONLY)

add_custom_target(metarec_docs
  COMMAND Doxygen::doxygen "${_metarec_doxyfile}"
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  COMMENT "metarec: API reference (Doxygen ${DOXYGEN_VERSION}) in ${METAREC_DOXYGEN_OUTPUT_DIRECTORY}/api"
  VERBATIM)

if(METAREC_BUILD_TESTS)
  add_test(NAME docs.doxygen
           COMMAND Doxygen::doxygen "${_metarec_doxyfile}"
           WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
  # FAIL_ON_WARNINGS makes doxygen exit non-zero; the expression also catches a warning that a
  # doxygen ignoring that setting would print (then as "warning:", not "error:").
  set_tests_properties(docs.doxygen PROPERTIES
    LABELS docs
    FAIL_REGULAR_EXPRESSION "(warning|error): "
    TIMEOUT 300)
endif()

message(STATUS "metarec: API reference: target metarec_docs (Doxygen ${DOXYGEN_VERSION})")
