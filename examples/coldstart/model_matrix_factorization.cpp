// metarec-coldstart: matrix factorization (item embeddings shared, the user's vector adapted).
// SPDX-License-Identifier: Apache-2.0
#include <metarec/recsys/item_factors.hpp>
#include <metarec/recsys/two_tower.hpp>

#include "runner.hpp"

namespace coldstart {

std::vector<result> run_matrix_factorization(const problem& p) {
    using model = mr::recsys::matrix_factorization<>;
    model_traits<model, mr::recsys::adapt_user> traits{
        .features = {.user_features = false, .item_features = false, .item_id = true}};
    if (p.options.item_factors) {
        // --mf-init als: the item factors of what the bias model leaves over, fitted once
        auto fitted = mr::recsys::tuned_item_factors(p.data, p.split, *p.bias, {.factors = 32, .seed = p.options.seed});
        if (!p.options.quiet)
            std::fprintf(stderr, "item factors: ridge strength %g (chosen on the validation users)\n", fitted.second);
        traits.initialize = [&p, factors = std::move(fitted.first)](model& m, const mr::recsys::feature_encoder& encoder) {
            const auto* targets = p.residual ? nullptr : p.bias;  // residual targets: the biases are in the base
            mr::recsys::initialize_item_factors(
                m, encoder, factors, [&](mr::index i) { return targets ? targets->item_bias(i) : 0.0; },
                targets ? targets->mean() : 0.0);
        };
    }
    return run_model(p, traits);
}

}  // namespace coldstart
