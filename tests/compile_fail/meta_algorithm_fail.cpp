// expect: a meta-algorithm rule lacks .task_result task_gradient
// metarec compile test: a user's rule without its task_gradient() hook is rejected with a
// sentence naming the hook, where the algorithm is instantiated (not deep inside fit()).
// SPDX-License-Identifier: Apache-2.0
#include <cstdint>
#include <string_view>

#include <metarec/loss/mse.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/optim/optim.hpp>

namespace mr = metarec;
using net = mr::nn::model<mr::nn::sequential<mr::nn::dense<4>, mr::nn::dense<1>>, float>;

// "Writing your own rule" (docs/concepts/meta_algorithm.md), with task_gradient() misspelled
struct my_options {
    float inner_lr = 0.1f;
    int inner_steps = 5;
    mr::index meta_batch = 4;
    int threads = 1;
    std::uint64_t seed = 1;
};
struct my_rule {
    using ctx = mr::meta::context<net, mr::loss::mse>;
    static constexpr std::string_view name = "my-rule";
    using options_type = my_options;
    struct workspace : mr::meta::task_workspace<net, mr::loss::mse> {};
    explicit my_rule(const my_options&) {}
    workspace make_workspace(const ctx& c) const { return {c.make_task_workspace()}; }
    void adapt(const ctx&, const ctx::input_type&, const float*, int, workspace&, float*) const {}
    mr::meta::task_result task_gradeint(const ctx&, const ctx::task_type&, workspace&, float*) const { return {}; }
};

int main() { mr::meta::algorithm<net, mr::loss::mse, mr::optim::sgd, my_rule> algo{net{{.dense = 3}, 1}}; }
