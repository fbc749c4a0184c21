// Fuzz target: the .npy reader (magic, versions, header dictionary, sizes, values).
// SPDX-License-Identifier: Apache-2.0
#include <metarec/data/npy.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace mr = metarec;
    const auto path = mr::fuzz::write("x.npy", {reinterpret_cast<const char*>(data), size});
    mr::fuzz::expect_data_error_only([&] { mr::data::load_npy(path); });
    return 0;
}
