// expect: update\(\) takes no callback with a state \(early_stopping\)
// update() streams tasks without epochs: a callback whose state a checkpoint saves
// (early_stopping, watching a validation loss per epoch) has nothing to watch there, and its
// state would not be resumed, so update() makes it a compile error. The passing twin is the
// skeleton of docs/concepts/callbacks.md (fit() takes it).
#include <metarec/callbacks/early_stopping.hpp>
#include <metarec/loss/mse.hpp>
#include <metarec/meta/maml.hpp>
#include <metarec/nn/nn.hpp>

namespace mr = metarec;
using net = mr::nn::model<mr::nn::sequential<mr::nn::dense<1>>, double>;
using task = mr::meta::task<mr::nn::batch<double>, double>;

void serve(mr::meta::maml<net, mr::loss::mse>& algorithm, const std::vector<task>& stream,
           const std::vector<task>& validation) {
    mr::callbacks::early_stopping stop{validation, {.patience = 2}};
    algorithm.update(stream, {}, stop);
}
