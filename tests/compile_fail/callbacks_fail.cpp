// expect: every argument of fit\(\) after the options must be a callback
// A progress bar passed as const: its hooks update it and are not const, so fit() would skip
// every one of them; callback_for makes that a compile error. The passing twin is the
// skeleton of docs/concepts/callbacks.md.
#include <metarec/callbacks/progress_bar.hpp>
#include <metarec/loss/mse.hpp>
#include <metarec/meta/maml.hpp>
#include <metarec/nn/nn.hpp>

namespace mr = metarec;
using net = mr::nn::model<mr::nn::sequential<mr::nn::dense<1>>, double>;

void train(mr::meta::maml<net, mr::loss::mse>& algorithm, const std::vector<mr::meta::task<mr::nn::batch<double>, double>>& tasks) {
    const mr::callbacks::progress_bar bar{};
    algorithm.fit(tasks, {.epochs = 1}, bar);
}
