# metarec package test driver (cmake -P): builds the consumer project against metarec one
# way, and runs it. For find_package, installs metarec into a temporary prefix first.
#   -DMODE=find_package|add_subdirectory|fetchcontent -DSOURCE=<metarec source>
#   -DBUILD=<metarec build tree, for find_package> -DWORK=<scratch dir> -DGENERATOR=<generator>
#   -DCOMPONENTS=<comma-separated components the consumer asks for and links>
# SPDX-License-Identifier: Apache-2.0
cmake_minimum_required(VERSION 3.25)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "package test (${MODE}): ${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK})
set(consumer_args -S ${SOURCE}/tests/package/consumer -B ${WORK}/consumer -G ${GENERATOR}
                  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-O1 -DMETAREC_CONSUME=${MODE}
                  "-DMETAREC_COMPONENTS=${COMPONENTS}")
if(MODE STREQUAL "find_package")
  run("install into ${WORK}/prefix" ${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix)
  foreach(file include/metarec/metarec.hpp include/metarec/version.hpp share/metarec/cmake/metarecConfig.cmake
               share/metarec/cmake/metarecConfigVersion.cmake share/metarec/cmake/metarecTargets.cmake
               share/pkgconfig/metarec.pc)
    if(NOT EXISTS ${WORK}/prefix/${file})
      message(FATAL_ERROR "package test (${MODE}): the install lacks ${file}")
    endif()
  endforeach()
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK}/prefix)
  # pkg-config finds the installed headers (and Eigen through `Requires`)
  find_program(pkg_config pkg-config)
  if(pkg_config)
    set(ENV{PKG_CONFIG_PATH} ${WORK}/prefix/share/pkgconfig)
    run("pkg-config --cflags metarec" ${pkg_config} --cflags metarec)
    if(NOT last_output MATCHES "-I${WORK}/prefix/share/pkgconfig/../../include")
      message(FATAL_ERROR "package test (${MODE}): pkg-config gives no include path into the prefix: ${last_output}")
    endif()
  else()
    message(STATUS "package test: no pkg-config, metarec.pc not checked")
  endif()
else()
  # as a subproject metarec configures CUDA only when the parent asks (METAREC_ENABLE_CUDA)
  list(APPEND consumer_args -DMETAREC_SOURCE_DIR=${SOURCE})
  string(REGEX REPLACE "(^|,)cuda(,|$)" "\\2" COMPONENTS "${COMPONENTS}")
  string(REGEX REPLACE "^,|,$" "" COMPONENTS "${COMPONENTS}")
  list(FILTER consumer_args EXCLUDE REGEX "^-DMETAREC_COMPONENTS=")
  list(APPEND consumer_args "-DMETAREC_COMPONENTS=${COMPONENTS}")
endif()
run("configure the consumer" ${CMAKE_COMMAND} ${consumer_args})
set(configure_output "${last_output}")
run("build the consumer" ${CMAKE_COMMAND} --build ${WORK}/consumer)
run("run the consumer" ${WORK}/consumer/consumer)
message(STATUS "${last_output}")

# the version the program was compiled with is version.hpp's, and so is the installed
# package's (metarecConfigVersion.cmake)
file(STRINGS ${SOURCE}/include/metarec/version.hpp lines REGEX "#define METAREC_VERSION_(MAJOR|MINOR|PATCH) ")
foreach(part MAJOR MINOR PATCH)
  string(REGEX REPLACE ".*METAREC_VERSION_${part} ([0-9]+).*" "\\1" ${part} "${lines}")
endforeach()
if(NOT last_output MATCHES "^metarec ${MAJOR}\\.${MINOR}\\.${PATCH}\n")
  message(FATAL_ERROR "package test (${MODE}): the consumer reports another version than version.hpp "
                      "(${MAJOR}.${MINOR}.${PATCH}):\n${last_output}")
endif()
if(MODE STREQUAL "find_package")
  # the Conan recipe's test package is a plain find_package consumer too
  run("configure the Conan test package" ${CMAKE_COMMAND} -S ${SOURCE}/packaging/conan/test_package -B ${WORK}/conan_test_package
      -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_PREFIX_PATH=${WORK}/prefix)
  run("build the Conan test package" ${CMAKE_COMMAND} --build ${WORK}/conan_test_package)
  run("run the Conan test package" ${WORK}/conan_test_package/test_package)
endif()
if(MODE STREQUAL "find_package" AND NOT configure_output MATCHES "consumer: metarec ${MAJOR}\\.${MINOR}\\.${PATCH} from")
  message(FATAL_ERROR "package test (${MODE}): the installed package is not version ${MAJOR}.${MINOR}.${PATCH}:\n"
                      "${configure_output}")
endif()
