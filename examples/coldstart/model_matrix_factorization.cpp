// metarec-coldstart: matrix factorization (item embeddings shared, the user's vector adapted).
// SPDX-License-Identifier: Apache-2.0
#include <optional>
#include <utility>

#include <metarec/recsys/item_factors.hpp>
#include <metarec/recsys/two_tower.hpp>

#include "runner.hpp"

namespace coldstart {

std::vector<result> run_matrix_factorization(const problem& p) {
    using model = mr::recsys::matrix_factorization<>;
    // --mf-init als: the item factors of what the bias model leaves over, the ridge strength
    // chosen once on the validation users (tuned_item_factors fits the grid without them); a
    // selection problem's factors are fitted with that strength on its own warm data
    std::optional<std::pair<Eigen::MatrixXd, double>> tuned;
    if (p.options.item_factors) {
        tuned = mr::recsys::tuned_item_factors(p.data, p.split, *p.bias, {.factors = 32, .seed = p.options.seed});
        if (!p.options.quiet)
            std::fprintf(stderr, "item factors: ridge strength %g (chosen on the validation users)\n", tuned->second);
    }
    return run_selected(p, [&](const problem& q) {
        model_traits<model, mr::recsys::adapt_user> traits{
            .features = {.user_features = false, .item_features = false, .item_id = true}};
        if (tuned) {
            auto factors = &q == &p ? tuned->first
                                    : mr::recsys::fit_item_factors(q.data, *q.bias, q.split.training_interactions,
                                                                   {.factors = 32, .regularization = tuned->second,
                                                                    .seed = q.options.seed});
            traits.initialize = [&q, factors = std::move(factors)](model& m, const mr::recsys::feature_encoder& encoder) {
                const auto* targets = q.residual ? nullptr : q.bias;  // residual targets: the biases are in the base
                mr::recsys::initialize_item_factors(
                    m, encoder, factors, [&](mr::index i) { return targets ? targets->item_bias(i) : 0.0; },
                    targets ? targets->mean() : 0.0);
            };
        }
        return traits;
    });
}

}  // namespace coldstart
