// metarec-coldstart: matrix factorization (item embeddings shared, the user's vector adapted).
// SPDX-License-Identifier: Apache-2.0
#include <metarec/recsys/two_tower.hpp>

#include "runner.hpp"

namespace coldstart {

std::vector<result> run_matrix_factorization(const problem& p) {
    using model = mr::recsys::matrix_factorization<>;
    return run_model(p, model_traits<model, mr::recsys::adapt_user>{
                            .features = {.user_features = false, .item_features = false, .item_id = true}});
}

}  // namespace coldstart
