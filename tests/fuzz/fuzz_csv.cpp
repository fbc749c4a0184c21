// Fuzz target: the generic CSV loader (delimited reader, schema strings, feature tables).
// Input: interactions.csv 0x1E users.csv 0x1E items.csv 0x1E user schema 0x1E item schema.
// SPDX-License-Identifier: Apache-2.0
#include <metarec/data/csv_dataset.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace mr = metarec;
    const auto parts = mr::fuzz::split(data, size, 5);
    const auto part = [&](std::size_t i) { return i < parts.size() ? parts[i] : std::string_view(); };
    mr::data::csv_files files{mr::fuzz::write("interactions.csv", part(0)), {}, {}, std::string(part(3)),
                              std::string(part(4))};
    if (parts.size() > 1) files.users = mr::fuzz::write("users.csv", part(1));
    if (parts.size() > 2) files.items = mr::fuzz::write("items.csv", part(2));
    for (const bool lenient : {false, true})
        mr::fuzz::expect_data_error_only([&] { mr::data::load_csv(files, {.lenient = lenient}); });
    return 0;
}
