// metarec-coldstart and metarec-serve: where the data comes from (command-line flags and loading),
// shared so that a served model reads its data exactly as it was trained on it.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include <metarec/data/data.hpp>
#include <metarec/data/synthetic.hpp>

#include "flags.hpp"

namespace coldstart {

/// The data flags: a MovieLens or CSV directory, CSV files with schemas, or the synthetic shop.
struct data_source {
    std::string data_dir, format = "movielens-100k";
    std::string interactions, users, items, user_schema, item_schema;
    bool lenient = false;
    metarec::data::synthetic_options synthetic{};

    //! registers the flags on `app`
    void add_options(CLI::App& app) {
        app.add_option("--data", data_dir, "data directory (see --format); none: synthetic data");
        app.add_option("--format", format, "movielens-100k, movielens-1m or csv (interactions.csv, users.csv, items.csv)")
            ->capture_default_str();
        app.add_option("--interactions", interactions, "generic CSV: interactions file (user,item,rating[,timestamp])");
        app.add_option("--users", users, "generic CSV: user features file (user,<field>...)");
        app.add_option("--items", items, "generic CSV: item features file (item,<field>...)");
        app.add_option("--user-schema", user_schema, "kinds of the user fields, e.g. age:num,region:cat");
        app.add_option("--item-schema", item_schema, "kinds of the item fields, e.g. genre:multi,text:dense(text.npy)");
        app.add_flag("--lenient", lenient, "skip malformed rows (counted in the report) instead of stopping");
        app.add_option("--synthetic-users", synthetic.users, "synthetic data: number of users")
            ->check(flags::at_least<metarec::index>(1))
            ->capture_default_str();
    }

    //! loads the data set (data_error on bad input); the synthetic shop uses `seed`
    metarec::data::dataset load(std::uint64_t seed) const {
        namespace fs = std::filesystem;
        const metarec::data::load_options options{.lenient = lenient};
        if (!interactions.empty())
            return metarec::data::load_csv({interactions, users, items, user_schema, item_schema}, options);
        if (data_dir.empty()) {
            auto shop = synthetic;
            shop.seed = seed;
            return metarec::data::make_synthetic(shop);
        }
        if (format == "movielens-100k") return metarec::data::load_movielens_100k(data_dir, options);
        if (format == "movielens-1m") return metarec::data::load_movielens_1m(data_dir, options);
        if (format == "csv") {
            const fs::path dir(data_dir);
            const auto optional = [&](const char* name) { return fs::exists(dir / name) ? dir / name : fs::path(); };
            return metarec::data::load_csv({dir / "interactions.csv", optional("users.csv"), optional("items.csv"),
                                            user_schema, item_schema},
                                           options);
        }
        throw std::invalid_argument("unknown --format '" + format + "' (expected movielens-100k, movielens-1m or csv)");
    }
};

}  // namespace coldstart
