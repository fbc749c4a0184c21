# vcpkg port of metarec (header-only), an overlay port that builds the checkout it lives in:
#   vcpkg install metarec[openmp,xtensor] --overlay-ports=<metarec>/packaging/vcpkg/ports
# Its build is the CMake install that tests/package exercises; each feature turns one
# component on, and requires it, so a missing dependency fails here and not in your build.
# SPDX-License-Identifier: Apache-2.0
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../../..")
set(VCPKG_BUILD_TYPE release)  # header-only: one configuration is all there is

set(required "")
foreach(feature_component IN ITEMS "xtensor;data" "openmp;omp" "tbb;tbb" "cuda;cuda")
  list(GET feature_component 0 feature)
  list(GET feature_component 1 component)
  if(feature IN_LIST FEATURES)
    list(APPEND required ${component})
  endif()
endforeach()
if("openmp" IN_LIST FEATURES OR "tbb" IN_LIST FEATURES)
  list(APPEND required thrust)
endif()

vcpkg_check_features(OUT_FEATURE_OPTIONS feature_options
  FEATURES
    xtensor METAREC_ENABLE_DATA
    openmp METAREC_ENABLE_OMP
    tbb METAREC_ENABLE_TBB
    cuda METAREC_ENABLE_CUDA
)
if(required MATCHES "thrust")
  list(APPEND feature_options -DMETAREC_ENABLE_THRUST=ON)
else()
  list(APPEND feature_options -DMETAREC_ENABLE_THRUST=OFF)
endif()
string(REPLACE ";" "\\;" required_escaped "${required}")

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    ${feature_options}
    -DMETAREC_ENABLE_MPI=OFF
    "-DMETAREC_REQUIRE_COMPONENTS=${required_escaped}"
    -DMETAREC_BUILD_TESTS=OFF
    -DMETAREC_BUILD_EXAMPLES=OFF
    -DMETAREC_BUILD_BENCHMARKS=OFF
    -DMETAREC_INSTALL=ON
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH share/metarec/cmake)
vcpkg_fixup_pkgconfig()

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
