// metarec package test: a consumer's own tiny recommender (a learner type metarec has never
// seen), meta-trained with first-order MAML for a few steps through whichever way the build
// found metarec (find_package, add_subdirectory, FetchContent). Prints the version macros
// and the query loss before and after; fails unless meta-training lowered it.
// SPDX-License-Identifier: Apache-2.0
#include <cstdio>
#include <random>
#include <vector>

#include <metarec/metarec.hpp>

namespace mr = metarec;

/// rating = global bias + item bias + w . item features; a new user shifts the biases
struct bias_recommender {
    using scalar_type = float;
    using device_type = mr::device::cpu;
    using input_type = mr::nn::batch<float>;
    struct workspace_type {};

    mr::index items, features;
    std::vector<float> params;

    bias_recommender(mr::index items_, mr::index features_)
        : items(items_), features(features_), params(std::size_t(1 + items_ + features_), 0.0f) {}

    mr::index parameter_count() const { return 1 + items + features; }
    mr::index output_rows() const { return 1; }
    float* parameters() { return params.data(); }
    const float* parameters() const { return params.data(); }
    workspace_type make_workspace(mr::index) const { return {}; }

    void forward(const float* t, const input_type& x, workspace_type&, float* pred) const {
        for (mr::index j = 0; j < x.size(); ++j) {
            float y = t[0] + t[1 + x.categorical[0][j]];
            for (mr::index f = 0; f < features; ++f) y += t[1 + items + f] * x.dense[j * features + f];
            pred[j] = y;
        }
    }
    void backward(const float*, const input_type& x, workspace_type&, const float* dpred, float* grad) const {
        for (mr::index j = 0; j < x.size(); ++j) {
            grad[0] += dpred[j];
            grad[1 + x.categorical[0][j]] += dpred[j];
            for (mr::index f = 0; f < features; ++f) grad[1 + items + f] += dpred[j] * x.dense[j * features + f];
        }
    }
};
static_assert(mr::check_learner<bias_recommender>());

int main() {
    std::printf("metarec %d.%d.%d\n", METAREC_VERSION_MAJOR, METAREC_VERSION_MINOR, METAREC_VERSION_PATCH);
    constexpr mr::index items = 20, features = 2, shots = 6;
    std::mt19937 g(7);
    std::normal_distribution<float> noise(0.0f, 0.1f);
    std::vector<float> item_bias(items);
    for (auto& b : item_bias) b = std::uniform_real_distribution<float>(-1, 1)(g);

    // a task per user: ratings 3 + user offset + item bias + 0.5 x0 - 0.25 x1 + noise
    std::vector<mr::meta::task_data<float>> users;
    for (int u = 0; u < 64; ++u) {
        const float offset = std::uniform_real_distribution<float>(-1, 1)(g);
        const auto sample = [&](std::vector<float>& target) {
            std::vector<float> dense;
            std::vector<mr::id_type> ids;
            for (mr::index j = 0; j < shots; ++j) {
                const auto item = mr::id_type(g() % items);
                const float x0 = std::uniform_real_distribution<float>(-1, 1)(g), x1 = std::uniform_real_distribution<float>(-1, 1)(g);
                ids.push_back(item);
                dense.insert(dense.end(), {x0, x1});
                target.push_back(3 + offset + item_bias[std::size_t(item)] + 0.5f * x0 - 0.25f * x1 + noise(g));
            }
            return mr::nn::batch_data<float>(shots, dense, features, {ids});
        };
        std::vector<float> support_target, query_target;
        auto support = sample(support_target);
        auto query = sample(query_target);
        users.emplace_back(std::move(support), support_target, std::move(query), query_target, u);
    }
    const auto tasks = mr::meta::views(users);

    mr::meta::maml<bias_recommender, mr::loss::mse> maml{bias_recommender{items, features},
                                                         {.inner_lr = 0.3, .inner_steps = 2, .order = 1, .meta_batch = 8},
                                                         mr::optim::adam{.lr = 0.05}};
    const double before = maml.evaluate(tasks).loss;
    maml.fit(tasks, {.epochs = 10});
    const double after = maml.evaluate(tasks).loss;
    std::printf("query MSE after adaptation: %.4f before meta-training, %.4f after %lld meta-steps\n", before, after,
                static_cast<long long>(maml.steps()));
    return after < 0.5 * before ? 0 : 1;
}
