// Fuzz target: the MovieLens 100K and 1M loaders.
// Input: one selector byte (even: 100K, odd: 1M), then the files separated by 0x1E:
// 100K u.user, u.item, u.data; 1M users.dat, movies.dat, ratings.dat.
// SPDX-License-Identifier: Apache-2.0
#include <filesystem>

#include <metarec/data/movielens.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace mr = metarec;
    if (size == 0) return 0;
    const bool one_million = data[0] & 1;
    const auto parts = mr::fuzz::split(data + 1, size - 1, 3);
    const auto dir = mr::fuzz::scratch() / "movielens";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const char* names[2][3] = {{"u.user", "u.item", "u.data"}, {"users.dat", "movies.dat", "ratings.dat"}};
    for (std::size_t i = 0; i < parts.size(); ++i)
        mr::fuzz::write(std::string("movielens/") + names[one_million][i], parts[i]);
    for (const bool lenient : {false, true})
        mr::fuzz::expect_data_error_only([&] {
            if (one_million) mr::data::load_movielens_1m(dir, {.lenient = lenient});
            else mr::data::load_movielens_100k(dir, {.lenient = lenient});
        });
    return 0;
}
