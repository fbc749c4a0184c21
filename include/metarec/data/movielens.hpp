// metarec: the MovieLens 100K and 1M data sets, with MeLU's user and item features.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "csv.hpp"
#include "dataset.hpp"
#include "feature_table_builder.hpp"

namespace metarec::data {

namespace detail {

// MovieLens 1M's age groups; MovieLens 100K's ages are mapped onto them
inline std::string_view age_group(std::int64_t age) noexcept {
    return age < 18 ? "1" : age < 25 ? "18" : age < 35 ? "25" : age < 45 ? "35" : age < 50 ? "45" : age < 56 ? "50" : "56";
}

inline const std::vector<field_spec>& movielens_user_schema() {
    static const std::vector<field_spec> schema{{"gender", field_kind::categorical, {}},
                                                {"age", field_kind::categorical, {}},
                                                {"occupation", field_kind::categorical, {}},
                                                {"zip", field_kind::categorical, {}}};
    return schema;
}
inline const std::vector<field_spec>& movielens_item_schema() {
    static const std::vector<field_spec> schema{{"year", field_kind::categorical, {}}, {"genre", field_kind::multi, {}}};
    return schema;
}

// interactions `user item rating timestamp` in the given columns of a reader
inline void read_ratings(delimited_reader& in, dataset& out, const load_options& options) {
    std::string user_key, item_key;  // reused: no allocation per row
    for_each_row(in, options, out.report, [&] {
        in.expect_fields(4);
        user_key.assign(delimited_reader::trim(in.field(0)));
        item_key.assign(delimited_reader::trim(in.field(1)));
        const auto user = out.users.row(user_key), item = out.items.row(item_key);
        if (user < 0) in.fail(1, "user '" + user_key + "' has no row in the user file");
        if (item < 0) in.fail(2, "item '" + item_key + "' has no row in the item file");
        const double rating = in.number(2, "rating");
        if (rating < 1 || rating > 5 || rating != std::floor(rating))
            in.fail(3, "rating " + std::string(in.field(2)) + " is not one of 1..5");
        const auto timestamp = in.integer(3, "timestamp");
        out.interactions.push_back({id_type(user), id_type(item), float(rating), timestamp});
    });
    if (out.interactions.empty()) throw data_error(in.file(), 0, 0, "no interactions");
}

// a feature file must give at least one row
inline void require_rows(const feature_table& table, const delimited_reader& in) {
    if (table.rows() == 0) throw data_error(in.file(), 0, 0, "no rows");
}

//! whether `text` is 4 decimal digits
inline bool is_year(std::string_view text) noexcept {
    return text.size() == 4 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace detail

/// Loads MovieLens 100K from `dir`: `u.user` (`id|age|gender|occupation|zip`), `u.item`
/// (`id|title|release date|video release date|IMDb URL|19 genre flags`) and `u.data`
/// (tab-separated `user item rating timestamp`). Features as MeLU's: users `gender`, `age`
/// (grouped as MovieLens 1M: 1, 18, 25, 35, 45, 50, 56), `occupation`, `zip` (its first two
/// characters: a region; full codes would identify users); items `year` (of the release
/// date, "" when missing) and `genre` (multi-valued, from the flags). Latin-1 titles and
/// blank lines are fine; ratings must be the integers 1..5, a release date must end with
/// its year, genre flags must be 0 or 1. `name` is "movielens-100k", timestamps are kept.
inline dataset load_movielens_100k(const std::filesystem::path& dir, load_options options = {}) {
    dataset out;
    out.name = "movielens-100k";
    out.has_timestamps = true;
    {
        delimited_reader in(dir / "u.user", "|", false);
        feature_table_builder users(out.users, detail::movielens_user_schema());
        const std::array<index, 4> columns{3, 2, 4, 5};
        detail::for_each_row(in, options, out.report, [&] {
            in.expect_fields(5);
            const auto age = in.integer(1, "age");
            if (age < 0 || age > 150) in.fail(2, "age " + std::to_string(age) + " is out of range");
            const auto zip = delimited_reader::trim(in.field(4));
            const std::array<std::string_view, 4> cells{in.field(2), detail::age_group(age), in.field(3), zip.substr(0, 2)};
            users.add(delimited_reader::trim(in.field(0)), cells, in, columns);
        });
        detail::require_rows(out.users, in);
    }
    {
        delimited_reader in(dir / "u.item", "|", false);
        feature_table_builder items(out.items, detail::movielens_item_schema());
        static constexpr std::array<std::string_view, 19> genres{
            "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
            "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"};
        const std::array<index, 2> columns{3, 6};
        std::string genre_cell;
        detail::for_each_row(in, options, out.report, [&] {
            in.expect_fields(24);
            const auto date = delimited_reader::trim(in.field(2));  // e.g. 01-Jan-1995, or empty
            const auto year = date.size() >= 4 ? date.substr(date.size() - 4) : date;
            if (!date.empty() && !detail::is_year(year))
                in.fail(3, "release date '" + std::string(date) + "' does not end with a year (expected e.g. 01-Jan-1995)");
            genre_cell.clear();
            for (index g = 0; g < 19; ++g) {
                const auto flag = delimited_reader::trim(in.field(5 + g));
                if (flag != "0" && flag != "1") in.fail(6 + g, "genre flag '" + std::string(flag) + "' is not 0 or 1");
                if (flag == "1") (genre_cell += genres[std::size_t(g)]) += '|';
            }
            const std::array<std::string_view, 2> cells{year, genre_cell};
            items.add(delimited_reader::trim(in.field(0)), cells, in, columns);
        });
        detail::require_rows(out.items, in);
    }
    delimited_reader in(dir / "u.data", "\t", false);
    detail::read_ratings(in, out, options);
    return out;
}

/// Loads MovieLens 1M from `dir`: `users.dat` (`UserID::Gender::Age::Occupation::Zip-code`),
/// `movies.dat` (`MovieID::Title (Year)::%Genre|Genre...`, Latin-1) and `ratings.dat`
/// (`UserID::MovieID::Rating::Timestamp`). The same features as load_movielens_100k:
/// users `gender`, `age` (one of the groups 1, 18, 25, 35, 45, 50, 56, else an error),
/// `occupation`, `zip` (first two characters); items `year` (from the title's `(1995)`, ""
/// when it has none) and `genre`. `name` is "movielens-1m", timestamps are kept.
inline dataset load_movielens_1m(const std::filesystem::path& dir, load_options options = {}) {
    dataset out;
    out.name = "movielens-1m";
    out.has_timestamps = true;
    {
        delimited_reader in(dir / "users.dat", "::", false);
        feature_table_builder users(out.users, detail::movielens_user_schema());
        const std::array<index, 4> columns{2, 3, 4, 5};
        detail::for_each_row(in, options, out.report, [&] {
            in.expect_fields(5);
            const auto age = in.integer(2, "age");
            if (detail::age_group(age) != delimited_reader::trim(in.field(2)))  // "01" is not a group either
                in.fail(3, "age " + std::string(delimited_reader::trim(in.field(2))) +
                               " is not one of MovieLens 1M's groups 1, 18, 25, 35, 45, 50, 56");
            const auto zip = delimited_reader::trim(in.field(4));
            const std::array<std::string_view, 4> cells{in.field(1), in.field(2), in.field(3), zip.substr(0, 2)};
            users.add(delimited_reader::trim(in.field(0)), cells, in, columns);
        });
        detail::require_rows(out.users, in);
    }
    {
        delimited_reader in(dir / "movies.dat", "::", false);
        feature_table_builder items(out.items, detail::movielens_item_schema());
        const std::array<index, 2> columns{2, 3};
        detail::for_each_row(in, options, out.report, [&] {
            in.expect_fields(3);
            const auto title = delimited_reader::trim(in.field(1));  // "Toy Story (1995)"
            std::string_view year;
            if (title.size() >= 6 && title.back() == ')' && title[title.size() - 6] == '(' &&
                detail::is_year(title.substr(title.size() - 5, 4)))
                year = title.substr(title.size() - 5, 4);
            const std::array<std::string_view, 2> cells{year, in.field(2)};
            items.add(delimited_reader::trim(in.field(0)), cells, in, columns);
        });
        detail::require_rows(out.items, in);
    }
    delimited_reader in(dir / "ratings.dat", "::", false);
    detail::read_ratings(in, out, options);
    return out;
}

}  // namespace metarec::data
