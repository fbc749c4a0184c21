// metarec-coldstart: matrix factorization (item embeddings shared, the user's vector adapted).
// SPDX-License-Identifier: Apache-2.0
#include <metarec/recsys/item_factors.hpp>
#include <metarec/recsys/two_tower.hpp>

#include "runner.hpp"

namespace coldstart {

std::vector<result> run_matrix_factorization(const problem& p) {
    using model = mr::recsys::matrix_factorization<>;
    return run_selected(p, [](const problem& q) {
        model_traits<model, mr::recsys::adapt_user> traits{
            .features = {.user_features = false, .item_features = false, .item_id = true}};
        if (q.options.item_factors) {
            // --mf-init als: the item factors of what q's bias model leaves over on q's warm data
            auto fitted = mr::recsys::tuned_item_factors(q.data, q.split, *q.bias, {.factors = 32, .seed = q.options.seed});
            if (!q.options.quiet)
                std::fprintf(stderr, "item factors: ridge strength %g (chosen on the validation users)\n", fitted.second);
            traits.initialize = [&q, factors = std::move(fitted.first)](model& m, const mr::recsys::feature_encoder& encoder) {
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
