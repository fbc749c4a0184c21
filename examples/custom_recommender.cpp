// custom_recommender: the README's example. Your own network, loss, optimizer and
// meta-algorithm composed at compile time, meta-trained on the warm users of a synthetic
// shop, and adapted to each new user from 10 ratings. Deterministic: CI compares its output.
// SPDX-License-Identifier: Apache-2.0
#include <cstdio>

#include <metarec/metarec.hpp>

namespace mr = metarec;
using namespace mr::nn;

int main() {
    // your network: 16-dim embeddings of every field and the numeric features, head 32-16-1
    using net = model<sequential<concat<field_embeddings<16>, dense_features<>>, dense<32>, relu, dense<16>, relu, dense<1>>, float>;
    // your meta-algorithm: Meta-SGD (learned per-parameter inner rates) on the head, MSE, outer Adam
    using algo = mr::meta::meta_sgd<net, mr::loss::mse, mr::optim::adam, mr::meta::adapt_dense_head>;

    const auto shop = mr::data::make_synthetic({.users = 400, .items = 200, .seed = 3});
    const auto split = mr::data::make_split(shop, {.scenario = mr::data::scenario::new_users, .query = 10, .support = 10});
    const mr::recsys::feature_encoder encoder(shop);  // user fields, then item fields
    const auto train = encoder.tasks<float>(split.train), test = encoder.tasks<float>(split.test);

    algo learner(net(encoder.shape(), /*seed=*/1), {.inner_lr = 0.01, .inner_steps = 3, .meta_batch = 16, .threads = 2});
    learner.fit(mr::meta::views(train), {.epochs = 20});
    const auto frozen = learner.evaluate(mr::meta::views(test), {.steps = 0}, mr::eval::mae{});
    const auto adapted = learner.evaluate(mr::meta::views(test), {}, mr::eval::mae{});
    std::printf("MAE on %lld new users: %.3f as trained, %.3f adapted to their 10 ratings\n",
                static_cast<long long>(adapted.tasks), frozen.metrics[0], adapted.metrics[0]);
}
