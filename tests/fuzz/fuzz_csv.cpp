// Fuzz target: the generic CSV loader (delimited reader, schema strings, feature tables) and
// the delimited reader on its own.
// Input: interactions.csv 0x1E users.csv 0x1E items.csv 0x1E user schema 0x1E item schema
// (a part left out: no users.csv / items.csv, an empty schema). The whole data set is loaded
// strictly and leniently; then interactions.csv is read again by a bare delimited_reader with
// a delimiter and quoting picked by the input's size (`,` `\t` `|` `::` `;`, quotes on or
// off, as the MovieLens loaders use it), every field read as a number and as an integer.
// SPDX-License-Identifier: Apache-2.0
#include <metarec/data/csv_dataset.hpp>

#include "fuzz_support.hpp"

namespace {
namespace mr = metarec;

// every row and field of `file` through the reader's accessors; a data_error per row or
// field is an expected answer, the reader must go on (or stop once the rest is unreadable)
void read_every_field(const std::filesystem::path& file, std::size_t pick) {
    static const char* const delimiters[] = {",", "\t", "|", "::", ";"};
    mr::data::delimited_reader in(file, delimiters[pick % 5], (pick / 5) % 2 == 0);
    for (;;) {
        try {
            if (!in.next()) return;
        } catch (const mr::data_error&) {
            if (!in.readable()) return;
            continue;
        }
        for (mr::index c = 0; c <= in.size(); ++c) {  // one past the last field: field() refuses it
            try {
                (void)in.number(c, "value");
            } catch (const mr::data_error&) {
            }
            try {
                (void)in.integer(c, "value");
            } catch (const mr::data_error&) {
            }
        }
        try {
            in.expect_fields(3);
        } catch (const mr::data_error&) {
        }
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = mr::fuzz::split(data, size, 5);
    const auto part = [&](std::size_t i) { return i < parts.size() ? parts[i] : std::string_view(); };
    mr::data::csv_files files{mr::fuzz::write("interactions.csv", part(0)), {}, {}, std::string(part(3)),
                              std::string(part(4))};
    if (parts.size() > 1) files.users = mr::fuzz::write("users.csv", part(1));
    if (parts.size() > 2) files.items = mr::fuzz::write("items.csv", part(2));
    for (const bool lenient : {false, true})
        mr::fuzz::expect_data_error_only([&] { mr::data::load_csv(files, {.lenient = lenient}); });
    mr::fuzz::expect_data_error_only([&] { read_every_field(files.interactions, size); });
    return 0;
}
