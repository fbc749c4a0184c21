// expect: a meta-algorithm lacks .std::pair<double, double> task_gradient
// metarec compile test: a user's meta-algorithm without its task_gradient() hook is rejected
// with a sentence naming the hook, where it is constructed (not deep inside fit()).
// SPDX-License-Identifier: Apache-2.0
#include <string_view>

#include <metarec/loss/mse.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/optim/optim.hpp>

namespace mr = metarec;
using net = mr::nn::model<mr::nn::sequential<mr::nn::dense<4>, mr::nn::dense<1>>, float>;

// "Writing your own algorithm" (docs/concepts/meta_algorithm.md), reptile.hpp copied, with
// task_gradient() misspelled
class my_reptile : public mr::meta::algorithm<my_reptile, net, mr::loss::mse, mr::optim::sgd> {
    using base = mr::meta::algorithm<my_reptile, net, mr::loss::mse, mr::optim::sgd>;
    friend base;

public:
    static constexpr std::string_view name = "my-reptile";
    explicit my_reptile(net learner)
        : base(std::move(learner), &mr::meta::adapt_all::select<net>, {.lr = 0.1}, {}, 4, 1, 1, 5) {}

private:
    mr::index extra_count() const noexcept { return 0; }
    scalar_type* extras() noexcept { return nullptr; }
    const scalar_type* extras() const noexcept { return nullptr; }
    thread_workspace make_thread_workspace() const { return this->optimizer_workspace(mr::optim::sgd{}, false); }
    void adapt_into(const input_type& support, const scalar_type* target, int steps, thread_workspace& ws,
                    scalar_type* fast) const {
        this->optimizer_adapt(mr::optim::sgd{}, support, target, steps, ws, fast);
    }
    std::pair<double, double> task_gradeint(const task_type&, thread_workspace&, scalar_type*) { return {0, 1}; }
};

int main() { my_reptile algo{net{{.dense = 3}, 1}}; }
