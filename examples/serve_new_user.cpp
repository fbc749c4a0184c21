// serve_new_user: the serving side of a meta-learned recommender. Loads a MeLU model written by
// `metarec-coldstart --algo ... --save MODEL`, adapts it to one new user from a few ratings
// (the request), and ranks every item the user has not rated. Nothing is trained here.
//
//   metarec-coldstart --algo maml --save melu.mrc                      # train once (synthetic shop)
//   serve_new_user --model melu.mrc --user u7 --ratings i3:5,i12:1,i40:4 --top 10
//   serve_new_user --model melu.mrc --user newcomer --user-features gender=g1,age=age2,region=mars \
//                  --new-item gadget --item-features 'category=robots,brand=b3,price=p1,tags=t2|shiny' \
//                  --ratings i3:5,gadget:4
//
// The data may have grown since training (new users, items, category values: they are served
// through the model's unseen-value rows, numeric fields standardized with the training
// statistics), and --user-features / --new-item add one that is in no file. The fields and
// their kinds must be those of training: the model file records them and another schema is
// refused with one line. A model saved with its MetaEmb generator (--id-warmup metaemb) serves
// the --new-item its id row generated from its features instead of the zero unseen-value row.
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <metarec/data/arrivals.hpp>
#include <metarec/io/archive.hpp>
#include <metarec/io/configuration.hpp>
#include <metarec/loss/mse.hpp>
#include <metarec/meta/maml.hpp>
#include <metarec/recsys/features.hpp>
#include <metarec/recsys/id_warmup.hpp>
#include <metarec/recsys/melu.hpp>

#include "coldstart/data_source.hpp"

namespace mr = metarec;

namespace {

using model = mr::recsys::melu<>;
using S = model::scalar_type;

struct request {
    std::string model_path, user;
    std::string user_features, new_item, item_features;   // a user or an item in no file, with its features
    std::vector<std::pair<std::string, double>> ratings;  // item key, rating
    int top = 10;
    std::uint64_t seed = 1;  // the synthetic shop's seed (as at training)
};

// "i3:5,i12:1" -> {{"i3", 5}, {"i12", 1}}
std::vector<std::pair<std::string, double>> parse_ratings(const std::string& text) {
    std::vector<std::pair<std::string, double>> out;
    std::size_t at = 0;
    while (at <= text.size()) {
        const std::size_t end = std::min(text.find(',', at), text.size());
        const std::string pair = text.substr(at, end - at);
        const std::size_t colon = pair.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == pair.size())
            throw std::invalid_argument("--ratings: '" + pair + "' is not ITEM:RATING");
        std::size_t used = 0;
        double rating = 0;
        try {
            rating = std::stod(pair.substr(colon + 1), &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != pair.size() - colon - 1 || !std::isfinite(rating))
            throw std::invalid_argument("--ratings: '" + pair.substr(colon + 1) + "' is not a rating");
        out.emplace_back(pair.substr(0, colon), rating);
        at = end + 1;
    }
    return out;
}

// "gender=F,age=25" -> {{"gender", "F"}, {"age", "25"}}
std::vector<std::pair<std::string, std::string>> parse_features(const std::string& text, const std::string& flag) {
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t at = 0; !text.empty() && at <= text.size();) {
        const std::size_t end = std::min(text.find(',', at), text.size());
        const std::string pair = text.substr(at, end - at);
        const std::size_t eq = pair.find('=');
        if (eq == std::string::npos || eq == 0)
            throw std::invalid_argument(flag + ": '" + pair + "' is not FIELD=VALUE");
        out.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
        at = end + 1;
    }
    return out;
}

// the adapted model's top-n unrated items for the user, with the time adapt + ranking took
template <class Algorithm>
void serve(const Algorithm& algorithm, const mr::recsys::feature_encoder& encoder, const request& r) {
    const auto& data = encoder.dataset();
    const mr::index user = data.users.row(r.user);
    if (user < 0)
        throw std::invalid_argument(
            "unknown user '" + r.user +
            "' (not in the users' feature table: give a new user's features with --user-features)");
    std::vector<mr::id_type> rated;
    std::vector<S> ratings;
    for (const auto& [key, rating] : r.ratings) {
        const mr::index item = data.items.row(key);
        if (item < 0) throw std::invalid_argument("unknown item '" + key + "' in --ratings");
        rated.push_back(mr::id_type(item));
        ratings.push_back(S(rating));
    }
    std::vector<mr::id_type> candidates;
    for (mr::index i = 0; i < data.items.rows(); ++i)
        if (std::find(rated.begin(), rated.end(), mr::id_type(i)) == rated.end()) candidates.push_back(mr::id_type(i));
    const std::vector<mr::id_type> support_users(rated.size(), mr::id_type(user)), candidate_users(candidates.size(), mr::id_type(user));
    const auto support = encoder.encode_pairs<S>(support_users, rated);
    const auto pairs = encoder.encode_pairs<S>(candidate_users, candidates);

    const auto start = std::chrono::steady_clock::now();
    auto personal = algorithm.adapt(support.view(), ratings.data());  // the request: a few ratings
    const auto scores = personal.predict(pairs.view());
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    const std::size_t n = std::min(order.size(), std::size_t(r.top));
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(n), order.end(),
                      [&](std::size_t a, std::size_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
    const double micros = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();

    std::printf("user %s, %zu support ratings, %zu candidates, adapted and ranked in %.0f us\n", r.user.c_str(),
                rated.size(), candidates.size(), micros);
    for (std::size_t k = 0; k < n; ++k)
        std::printf("%3zu  %-12s %.4f\n", k + 1, data.items.keys[std::size_t(candidates[order[k]])].c_str(), double(scores[order[k]]));
}

// A model saved with its MetaEmb generator (metarec-coldstart --id-warmup metaemb --save):
// the new item's id row (the unseen-value row) becomes the one generated from its features
template <class Algorithm>
void generate_new_item_row(Algorithm& algorithm, const mr::recsys::feature_encoder& encoder,
                           const mr::io::configuration& trained, const request& r) {
    if (r.new_item.empty() || !trained.find("metaemb.parameters")) return;
    const mr::recsys::meta_embedding<S> generator(algorithm.learner(), trained);
    const std::vector<mr::id_type> user{0}, item{mr::id_type(encoder.dataset().items.row(r.new_item))};
    const auto pair = encoder.encode_pairs<S>(user, item);
    std::vector<S> initial(std::size_t(algorithm.learner().parameter_count()));
    generator.initialize(algorithm.learner().parameters(), pair.view(), initial.data());
    std::copy(initial.begin(), initial.end(), algorithm.learner().parameters());
    std::printf("new item %s: its id row generated from its features (MetaEmb)\n", r.new_item.c_str());
}

int serve_main(int argc, char** argv) {
    request r;
    coldstart::data_source source;
    std::string ratings;
    CLI::App app{"serve_new_user: adapt a saved meta-learned MeLU model to one new user and rank the items"};
    app.add_option("--model", r.model_path, "model file written by metarec-coldstart --save")->required();
    app.add_option("--user", r.user, "the user's key in the users' feature table")->required();
    app.add_option("--ratings", ratings, "the user's ratings, ITEM:RATING,ITEM:RATING,...")->required();
    app.add_option("--user-features", r.user_features,
                   "a new user (in no file): its feature values, FIELD=VALUE,... (multi-valued: a|b)");
    auto* item_features =
        app.add_option("--item-features", r.item_features, "the new item's feature values, FIELD=VALUE,...");
    item_features->needs(app.add_option("--new-item", r.new_item, "a new item's key (in no file); it may be rated")
                             ->needs(item_features));
    app.add_option("--top", r.top, "items to list")->check(coldstart::flags::at_least(1))->capture_default_str();
    app.add_option("--seed", r.seed, "the seed given at training (synthetic data)")
        ->check(coldstart::flags::at_least<std::uint64_t>(0))
        ->capture_default_str();
    source.add_options(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "serve_new_user: %s\n", coldstart::flags::message(e).c_str());
        return 2;
    }
    try {
        r.ratings = parse_ratings(ratings);
        // what the model was trained with, from its file
        const auto file = mr::io::archive::load(r.model_path);
        const auto trained = mr::io::configuration::read(file);
        const auto value = [&](const char* key) {
            const std::string* v = trained.find(key);
            if (!v) file.fail(std::string("no '") + key + "': not a model written by metarec-coldstart --save");
            return *v;
        };
        if (value("coldstart.model") != "melu")
            file.fail("holds a '" + value("coldstart.model") + "' model; serve_new_user serves MeLU models");
        auto data = source.load(r.seed);
        if (!r.user_features.empty())
            mr::data::add_entity(data.users, r.user, parse_features(r.user_features, "--user-features"),
                                 "--user-features");
        if (!r.new_item.empty())
            mr::data::add_entity(data.items, r.new_item, parse_features(r.item_features, "--item-features"),
                                 "--item-features");
        // the model's vocabularies and statistics, the data's values mapped onto them
        const mr::recsys::feature_encoder encoder(data, trained, {.item_id = value("coldstart.item_id") == "on"});
        const mr::meta::maml_options options{.inner_lr = std::stod(value("coldstart.inner_lr")),
                                             .inner_steps = std::stoi(value("coldstart.inner_steps"))};
        // Meta-SGD adapts with its learned rates; MAML, Reptile and fine-tuning with SGD at inner_lr
        if (value("extras") != "0") {
            mr::meta::meta_sgd<model, mr::loss::mse, mr::optim::adam, mr::meta::adapt_dense_head> algorithm(
                model(encoder.shape()), options);
            algorithm.load(r.model_path, encoder.configuration());
            generate_new_item_row(algorithm, encoder, trained, r);
            serve(algorithm, encoder, r);
        } else {
            mr::meta::maml<model, mr::loss::mse, mr::optim::adam, mr::meta::adapt_dense_head> algorithm(model(encoder.shape()),
                                                                                                       options);
            algorithm.load(r.model_path, encoder.configuration());
            generate_new_item_row(algorithm, encoder, trained, r);
            serve(algorithm, encoder, r);
        }
    } catch (const mr::data_error& e) {
        std::fprintf(stderr, "serve_new_user: %s\n", e.what());
        return 2;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "serve_new_user: %s\n", e.what());
        return 2;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return serve_main(argc, argv); }
