// metarec-coldstart: MeLU (field embeddings meta-learned, the dense head adapted per user).
// SPDX-License-Identifier: Apache-2.0
#include <metarec/recsys/melu.hpp>

#include "runner.hpp"

namespace coldstart {

std::vector<result> run_melu(const problem& p) {
    using model = mr::recsys::melu<>;
    return run_model(p, model_traits<model, mr::meta::adapt_dense_head>{.features = {.item_id = p.options.item_id}, .supports_anil = true});
}

}  // namespace coldstart
