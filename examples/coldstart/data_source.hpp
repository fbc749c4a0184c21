// metarec-coldstart and metarec-serve: where the data comes from (command-line flags and loading),
// shared so that a served model reads its data exactly as it was trained on it.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
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
    // implicit feedback
    std::string feedback = "auto", events, repeats = "collapse";
    metarec::index min_count = 1;

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
        app.add_option("--synthetic-drift", synthetic.taste_drift,
                       "synthetic data: drifting tastes, how far the latest users' tastes have moved along a "
                       "trend (0: none; for --split time --stream)")
            ->check(flags::at_least(0.0))
            ->capture_default_str();
        app.add_option("--feedback", feedback, "explicit (ratings), implicit (every interaction a positive), or auto "
                                               "(implicit when the interactions have no rating column or one constant rating)")
            ->capture_default_str();
        app.add_option("--events", events, "implicit: weights of the interactions' event column, e.g. "
                                           "view:1,cart:3,purchase:5");
        app.add_option("--repeats", repeats, "implicit: repeated (user, item) interactions: collapse (one, the "
                                             "strongest), count (one, weights summed) or keep")->capture_default_str();
        app.add_option("--min-count", min_count, "implicit: drop users and items with fewer interactions (repeatedly)")
            ->check(flags::at_least<metarec::index>(1))->capture_default_str();
    }

    //! whether `data` is to be read as implicit feedback (--feedback; auto: no rating column,
    //! or one rating for every interaction: a log of positives)
    bool implicit(const metarec::data::dataset& data) const {
        if (feedback == "auto")
            return data.implicit || std::all_of(data.interactions.begin(), data.interactions.end(), [&](const auto& r) {
                       return r.rating == data.interactions.front().rating;
                   });
        if (feedback == "implicit" || feedback == "explicit") return feedback == "implicit";
        throw std::invalid_argument("--feedback must be auto, explicit or implicit, not '" + feedback + "'");
    }

    /// Loads the data set (data_error on bad input); the synthetic shop uses `seed`. Read as
    /// implicit feedback, every interaction is a positive (a rating is dropped, as RecBole reads
    /// MovieLens), and repeats and the minimum count apply (data::prepare_implicit).
    metarec::data::dataset load(std::uint64_t seed) const {
        auto data = load_raw(seed);
        if (!implicit(data)) {
            if (!events.empty()) throw std::invalid_argument("--events is for implicit feedback (--feedback implicit)");
            return data;
        }
        metarec::data::implicit_options options{.min_user_count = min_count, .min_item_count = min_count};
        if (repeats == "keep")
            options.repeats = metarec::data::repeats::keep;
        else if (repeats == "count")
            options.repeats = metarec::data::repeats::count;
        else if (repeats != "collapse")
            throw std::invalid_argument("--repeats must be collapse, count or keep, not '" + repeats + "'");
        if (!data.implicit)
            for (auto& r : data.interactions) r.rating = 1;
        data.implicit = true;
        metarec::data::prepare_implicit(data, options);
        if (data.interactions.empty())
            throw std::invalid_argument("--min-count " + std::to_string(min_count) + " leaves no interaction");
        return data;
    }

    //! the data set as the files hold it
    metarec::data::dataset load_raw(std::uint64_t seed) const {
        namespace fs = std::filesystem;
        const metarec::data::load_options options{.lenient = lenient};
        if (!interactions.empty())
            return metarec::data::load_csv({interactions, users, items, user_schema, item_schema, events}, options);
        if (data_dir.empty()) {
            auto shop = synthetic;
            shop.seed = seed;
            shop.implicit = feedback == "implicit";
            return metarec::data::make_synthetic(shop);
        }
        if (format == "movielens-100k") return metarec::data::load_movielens_100k(data_dir, options);
        if (format == "movielens-1m") return metarec::data::load_movielens_1m(data_dir, options);
        if (format == "csv") {
            const fs::path dir(data_dir);
            const auto optional = [&](const char* name) { return fs::exists(dir / name) ? dir / name : fs::path(); };
            // schema.txt (the user schema on line 1, the item schema on line 2) when no schema flag is given
            std::string users_schema = user_schema, items_schema = item_schema;
            if (users_schema.empty() && items_schema.empty() && fs::is_regular_file(dir / "schema.txt")) {
                std::ifstream in(dir / "schema.txt");
                std::getline(in, users_schema);
                std::getline(in, items_schema);
                if (optional("users.csv").empty()) users_schema.clear();
                if (optional("items.csv").empty()) items_schema.clear();
            }
            return metarec::data::load_csv({dir / "interactions.csv", optional("users.csv"), optional("items.csv"),
                                            users_schema, items_schema, events},
                                           options);
        }
        throw std::invalid_argument("unknown --format '" + format + "' (expected movielens-100k, movielens-1m or csv)");
    }
};

}  // namespace coldstart
