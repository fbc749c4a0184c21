// expect: every argument of evaluate\(\) after the adapt options must be a metric
// A metric that takes the predictions as a vector instead of (pred, target, rows, n): evaluate()
// names the signature it wants. The passing twin is the skeleton of docs/concepts/evaluation.md.
#include <vector>

#include <metarec/loss/mse.hpp>
#include <metarec/meta/maml.hpp>
#include <metarec/nn/nn.hpp>

namespace mr = metarec;
using net = mr::nn::model<mr::nn::sequential<mr::nn::dense<1>>, double>;

double score(const mr::meta::maml<net, mr::loss::mse>& algorithm,
             const std::vector<mr::meta::task<mr::nn::batch<double>, double>>& tasks) {
    const auto mean_prediction = [](const std::vector<double>& pred) { return pred.empty() ? 0.0 : pred[0]; };
    return algorithm.evaluate(tasks, {}, mean_prediction).metrics[0];
}
