// expect: a callback's on_epoch_end cannot be called as on_epoch_end\(const epoch_info&\)
// A callback with one hook fit() can call (on_step_end) and one it cannot (on_epoch_end takes
// the epoch number, not the epoch_info): fit() would skip on_epoch_end, so check_callbacks
// makes that a compile error. The passing twin is the skeleton of docs/concepts/callbacks.md.
#include <metarec/loss/mse.hpp>
#include <metarec/meta/maml.hpp>
#include <metarec/nn/nn.hpp>

namespace mr = metarec;
using net = mr::nn::model<mr::nn::sequential<mr::nn::dense<1>>, double>;

struct validation {
    int steps = 0;
    void on_step_end(const mr::callbacks::step_info&) { ++steps; }
    bool on_epoch_end(int epoch) { return epoch > 3; }
};

void train(mr::meta::maml<net, mr::loss::mse>& algorithm, const std::vector<mr::meta::task<mr::nn::batch<double>, double>>& tasks) {
    validation check;
    algorithm.fit(tasks, {.epochs = 1}, check);
}
