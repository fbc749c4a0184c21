// metarec: library version (parsed by CMake; keep the three macros on their own lines).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#define METAREC_VERSION_MAJOR 0  //!< major version: incompatible API changes
#define METAREC_VERSION_MINOR 1  //!< minor version: compatible additions
#define METAREC_VERSION_PATCH 0  //!< patch version: fixes

namespace metarec {
//! The version as a number: major * 10000 + minor * 100 + patch.
inline constexpr int version = METAREC_VERSION_MAJOR * 10000 + METAREC_VERSION_MINOR * 100 +
                               METAREC_VERSION_PATCH;
}  // namespace metarec
