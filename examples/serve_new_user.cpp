// serve_new_user: the serving side of a meta-learned recommender. Loads a MeLU model written by
// `metarec-coldstart --algo ... --save MODEL`, adapts it to one new user from a few ratings or,
// for a model trained on implicit feedback, a few purchases (the request), and ranks every
// item the request does not name. Nothing is trained here.
//
//   metarec-coldstart --algo maml --save melu.mrc                      # train once (synthetic shop)
//   serve_new_user --model melu.mrc --user u7 --ratings i3:5,i12:1,i40:4 --top 10
//   metarec-coldstart --feedback implicit --algo maml --save buy.mrc   # on purchases
//   serve_new_user --model buy.mrc --feedback implicit --user u7 --purchases 'i3,i12;i40' --top 10
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
// A purchase model adapts as it was trained: the purchases (baskets in time order) as
// positives, each with the model's number of sampled negatives (seeded by --seed), its
// item-kNN inputs counted over every interaction of the data, the user's own left out.
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <metarec/data/arrivals.hpp>
#include <metarec/io/archive.hpp>
#include <metarec/io/configuration.hpp>
#include <metarec/loss/bce_with_logits.hpp>
#include <metarec/loss/bpr.hpp>
#include <metarec/loss/mse.hpp>
#include <metarec/meta/maml.hpp>
#include <metarec/recsys/features.hpp>
#include <metarec/recsys/id_warmup.hpp>
#include <metarec/recsys/implicit_tasks.hpp>
#include <metarec/recsys/melu.hpp>

#include "coldstart/data_source.hpp"
#include "coldstart/implicit.hpp"

namespace mr = metarec;

namespace {

using model = mr::recsys::melu<>;
using S = model::scalar_type;

struct request {
    std::string model_path, user;
    std::string user_features, new_item, item_features;   // a user or an item in no file, with its features
    std::vector<std::pair<std::string, double>> ratings;  // item key, rating
    std::vector<std::vector<std::string>> baskets;        // purchases: item keys, basket after basket
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

// "i3,i12;i40" -> {{"i3", "i12"}, {"i40"}}: baskets in time order, oldest first
std::vector<std::vector<std::string>> parse_purchases(const std::string& text) {
    std::vector<std::vector<std::string>> baskets;
    for (std::size_t at = 0; at <= text.size();) {
        const std::size_t end = std::min(text.find(';', at), text.size());
        const std::string basket = text.substr(at, end - at);
        baskets.emplace_back();
        for (std::size_t from = 0; from <= basket.size();) {
            const std::size_t comma = std::min(basket.find(',', from), basket.size());
            if (comma == from)
                throw std::invalid_argument("--purchases: an empty item in '" + text +
                                            "' (ITEM,ITEM;ITEM: ',' within a basket, ';' between baskets)");
            baskets.back().push_back(basket.substr(from, comma - from));
            from = comma + 1;
        }
        at = end + 1;
    }
    return baskets;
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

// the top-n of `scores` over `candidates`, with the time the request took since `start`
void print_top(const mr::data::dataset& data, const request& r, const std::string& what,
               const std::vector<mr::id_type>& candidates, const std::vector<S>& scores,
               std::chrono::steady_clock::time_point start) {
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    const std::size_t n = std::min(order.size(), std::size_t(r.top));
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(n), order.end(),
                      [&](std::size_t a, std::size_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
    const double micros = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    std::printf("user %s, %s, %zu candidates, adapted and ranked in %.0f us\n", r.user.c_str(), what.c_str(),
                candidates.size(), micros);
    for (std::size_t k = 0; k < n; ++k)
        std::printf("%3zu  %-12s %.4f\n", k + 1, data.items.keys[std::size_t(candidates[order[k]])].c_str(), double(scores[order[k]]));
}

// the request's user row, and its items' rows (an unknown key is refused)
mr::index user_row(const mr::data::dataset& data, const request& r) {
    const mr::index user = data.users.row(r.user);
    if (user < 0)
        throw std::invalid_argument(
            "unknown user '" + r.user +
            "' (not in the users' feature table: give a new user's features with --user-features)");
    return user;
}
mr::id_type item_row(const mr::data::dataset& data, const std::string& key, const char* flag) {
    const mr::index item = data.items.row(key);
    if (item < 0) throw std::invalid_argument("unknown item '" + key + "' in " + flag);
    return mr::id_type(item);
}

// every item but `named`
std::vector<mr::id_type> candidates_besides(const mr::data::dataset& data, const std::vector<mr::id_type>& named) {
    std::vector<mr::id_type> out;
    for (mr::index i = 0; i < data.items.rows(); ++i)
        if (std::find(named.begin(), named.end(), mr::id_type(i)) == named.end()) out.push_back(mr::id_type(i));
    return out;
}

// ratings: the adapted model's top-n unrated items for the user
template <class Algorithm>
void serve(const Algorithm& algorithm, const mr::recsys::feature_encoder& encoder, const request& r) {
    const auto& data = encoder.dataset();
    const mr::index user = user_row(data, r);
    std::vector<mr::id_type> rated;
    std::vector<S> ratings;
    for (const auto& [key, rating] : r.ratings) {
        rated.push_back(item_row(data, key, "--ratings"));
        ratings.push_back(S(rating));
    }
    const auto candidates = candidates_besides(data, rated);
    const std::vector<mr::id_type> support_users(rated.size(), mr::id_type(user)), candidate_users(candidates.size(), mr::id_type(user));
    const auto support = encoder.encode_pairs<S>(support_users, rated);
    const auto pairs = encoder.encode_pairs<S>(candidate_users, candidates);

    const auto start = std::chrono::steady_clock::now();
    auto personal = algorithm.adapt(support.view(), ratings.data());  // the request: a few ratings
    print_top(data, r, std::to_string(rated.size()) + " support ratings", candidates, personal.predict(pairs.view()), start);
}

// What a model trained on purchases records of its training tasks (coldstart/implicit.hpp's
// describe_implicit())
struct purchase_model {
    std::string objective, sampling;  // bce or bpr; uniform, popularity or scenario:FIELD
    mr::index negatives = 0;          // per positive
    bool history = false;             // --history's user field
    std::vector<mr::recsys::knn_input> knn;  // the baseline inputs' item-kNN inputs (none: off)
};

// What a purchase model reads of a request, as training built its tasks
// (implicit_runner.hpp): the data with the purchases appended as the user's interactions
// (one timestamp per basket, after the data's last), --history's field, the baseline inputs.
struct purchase_request {
    mr::data::dataset data;
    mr::index user = 0;
    std::vector<mr::index> support;  // the purchases' interactions
    std::vector<mr::id_type> purchased;
    std::vector<mr::index> every;  // every interaction of `data`: what serving counts
    std::optional<mr::recsys::baseline_inputs> inputs;

    purchase_request(mr::data::dataset loaded, const request& r, const purchase_model& m)
        : data(std::move(loaded)), user(user_row(data, r)) {
        std::int64_t time = 0;
        for (const auto& i : data.interactions) time = std::max(time, i.timestamp);
        for (const auto& basket : r.baskets) {
            time += data.has_timestamps ? 1 : 0;
            for (const auto& key : basket) {
                purchased.push_back(item_row(data, key, "--purchases"));
                support.push_back(mr::index(data.interactions.size()));
                data.interactions.push_back({mr::id_type(user), purchased.back(), 1.0f, time});
            }
        }
        if (m.history) {
            std::vector<std::vector<mr::id_type>> bags(std::size_t(user) + 1);
            bags.back() = purchased;
            coldstart::add_history(data, bags);
        }
        every.resize(data.interactions.size());
        std::iota(every.begin(), every.end(), mr::index(0));
        if (!m.knn.empty()) inputs.emplace(data, every, m.knn);
    }
    // the (user, item) rows of `items` with their baseline inputs
    auto encode(const mr::recsys::feature_encoder& encoder, const std::vector<mr::id_type>& items) const {
        const std::vector<mr::id_type> users(items.size(), mr::id_type(user));
        std::vector<float> values;
        if (inputs) inputs->append(mr::id_type(user), support, items, values);
        return encoder.encode_pairs<S>(users, items, values);
    }
};

// purchases: the adapted model's top-n items the request did not name
template <class Algorithm>
void serve_purchases(const Algorithm& algorithm, const mr::recsys::feature_encoder& encoder, const purchase_request& q,
                     const purchase_model& m, const request& r) {
    const auto& data = q.data;
    // the support set as training sampled it: each purchase followed by its negatives
    const std::string& sampling = m.sampling;
    const mr::data::negative_sampler sampler(data, q.every,
                                             sampling == "popularity" ? mr::data::negative_distribution::popularity
                                                                      : mr::data::negative_distribution::uniform,
                                             r.seed);
    std::optional<mr::data::scenario_pools> scenario;
    if (sampling.rfind("scenario:", 0) == 0) scenario.emplace(data, q.every, sampling.substr(9));
    const auto side = mr::recsys::implicit_samples(
        data, q.support, sampler, mr::data::items_of_users(data),
        {.objective = m.objective == "bpr" ? mr::recsys::implicit_objective::pairwise
                                           : mr::recsys::implicit_objective::pointwise,
         .negatives = m.negatives,
         .scenario = scenario ? &*scenario : nullptr},
        0, 0);
    const auto support = q.encode(encoder, side.items);
    const std::vector<S> targets(side.targets.begin(), side.targets.end());
    const auto candidates = candidates_besides(data, q.purchased);
    const auto pairs = q.encode(encoder, candidates);

    const auto start = std::chrono::steady_clock::now();
    auto personal = algorithm.adapt(support.view(), targets.data());  // the request: a few purchases
    print_top(data, r,
              std::to_string(q.purchased.size()) + " purchases in " + std::to_string(r.baskets.size()) + " baskets",
              candidates, personal.predict(pairs.view()), start);
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

// Calls f with the algorithm the model was saved from, loaded: its loss, and how it adapts
// (Meta-SGD with its learned rates, ANIL the head's last layer, MAML, Reptile and fine-tuning
// the head by SGD at inner_lr).
template <class Loss, class F>
void with_algorithm(const std::string& name, bool learned_rates, const mr::recsys::feature_encoder& encoder,
                    const mr::meta::maml_options& options, const std::string& path, F&& f) {
    const auto run = [&](auto algorithm) {
        algorithm.load(path, encoder.configuration());
        std::printf("model %s (%s), adapting %td of %td parameters in %d steps\n", path.c_str(), name.c_str(),
                    algorithm.adapted_range().size, algorithm.learner().parameter_count(), options.inner_steps);
        f(algorithm);
    };
    if (learned_rates)
        run(mr::meta::meta_sgd<model, Loss, mr::optim::adam, mr::meta::adapt_dense_head>(model(encoder.shape()), options));
    else if (name == "anil")
        run(mr::meta::anil<model, Loss, mr::optim::adam>(model(encoder.shape()), options));
    else
        run(mr::meta::maml<model, Loss, mr::optim::adam, mr::meta::adapt_dense_head>(model(encoder.shape()), options));
}

int serve_main(int argc, char** argv) {
    request r;
    coldstart::data_source source;
    std::string ratings, purchases;
    CLI::App app{"serve_new_user: adapt a saved meta-learned MeLU model to one new user and rank the items"};
    app.add_option("--model", r.model_path, "model file written by metarec-coldstart --save")->required();
    app.add_option("--user", r.user, "the user's key in the users' feature table")->required();
    auto* rated = app.add_option("--ratings", ratings, "the user's ratings, ITEM:RATING,ITEM:RATING,... (a model trained on ratings)");
    auto* bought = app.add_option("--purchases", purchases,
                                  "the user's purchases, baskets in time order, oldest first: ITEM,ITEM;ITEM;... (a model "
                                  "trained on implicit feedback)");
    rated->excludes(bought);
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
        if (rated->count() == 0 && bought->count() == 0)
            throw std::invalid_argument("give the request: --ratings ITEM:RATING,... or --purchases ITEM,ITEM;ITEM,...");
        if (rated->count() > 0) r.ratings = parse_ratings(ratings);
        if (bought->count() > 0) r.baskets = parse_purchases(purchases);
        // what the model was trained with, from its file
        const auto file = mr::io::archive::load(r.model_path);
        const auto trained = mr::io::configuration::read(file);
        const auto value = [&](const char* key) {
            const std::string* v = trained.find(key);
            if (!v) file.fail(std::string("no '") + key + "': not a model written by metarec-coldstart --save");
            return *v;
        };
        // a number the file records, at least `low`: a damaged one is refused, not read as 0
        const auto number = [&]<class T>(const char* key, T low) {
            const std::string text = value(key);
            T x{};
            std::string error = coldstart::flags::parse(text, x);
            if (error.empty() && x < low) error = "must be at least " + coldstart::flags::show(low) + ", not " + text;
            if (!error.empty()) file.fail(std::string("'") + key + "' " + error);
            return x;
        };
        if (value("coldstart.model") != "melu")
            file.fail("holds a '" + value("coldstart.model") + "' model; serve_new_user serves MeLU models");
        // files written before implicit feedback could be saved hold rating models
        const bool implicit = trained.find("coldstart.feedback") && value("coldstart.feedback") == "implicit";
        if (implicit && r.baskets.empty())
            throw std::invalid_argument("the model was trained on implicit feedback: give --purchases, not --ratings");
        if (!implicit && !r.baskets.empty())
            throw std::invalid_argument("the model was trained on ratings: give --ratings, not --purchases");
        if (implicit && source.feedback == "auto") source.feedback = "implicit";  // the data as training read it
        auto data = source.load(r.seed);
        if (!r.user_features.empty())
            mr::data::add_entity(data.users, r.user, parse_features(r.user_features, "--user-features"),
                                 "--user-features");
        if (!r.new_item.empty())
            mr::data::add_entity(data.items, r.new_item, parse_features(r.item_features, "--item-features"),
                                 "--item-features");
        const mr::meta::maml_options options{.inner_lr = number("coldstart.inner_lr", 0.0),
                                             .inner_steps = number("coldstart.inner_steps", 0)};
        const std::string algorithm = value("coldstart.algorithm");
        const bool learned_rates = value("extras") != "0";
        const mr::recsys::encoder_options features{.item_id = value("coldstart.item_id") == "on"};
        if (!implicit) {
            // the model's vocabularies and statistics, the data's values mapped onto them
            const mr::recsys::feature_encoder encoder(data, trained, features);
            with_algorithm<mr::loss::mse>(algorithm, learned_rates, encoder, options, r.model_path, [&](auto& a) {
                generate_new_item_row(a, encoder, trained, r);
                serve(a, encoder, r);
            });
        } else {
            const purchase_model m{.objective = value("coldstart.objective"),
                                   .sampling = value("coldstart.negative_sampling"),
                                   .negatives = number("coldstart.negatives", mr::index(1)),
                                   .history = value("coldstart.history") == "on",
                                   .knn = coldstart::knn_inputs_of(value("coldstart.baseline_inputs"))};
            if (m.objective != "bce" && m.objective != "bpr")
                file.fail("'coldstart.objective' is '" + m.objective + "', not bce or bpr");
            if (m.sampling != "uniform" && m.sampling != "popularity" && m.sampling.rfind("scenario:", 0) != 0)
                file.fail("'coldstart.negative_sampling' is '" + m.sampling + "', not uniform, popularity or scenario:FIELD");
            const purchase_request q(std::move(data), r, m);
            auto with_inputs = features;
            with_inputs.pair_inputs = q.inputs ? q.inputs->width() : 0;
            const mr::recsys::feature_encoder encoder(q.data, trained, with_inputs);
            const auto go = [&](auto& a) {
                generate_new_item_row(a, encoder, trained, r);
                serve_purchases(a, encoder, q, m, r);
            };
            if (m.objective == "bpr")
                with_algorithm<mr::loss::bpr>(algorithm, learned_rates, encoder, options, r.model_path, go);
            else
                with_algorithm<mr::loss::bce_with_logits>(algorithm, learned_rates, encoder, options, r.model_path, go);
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
