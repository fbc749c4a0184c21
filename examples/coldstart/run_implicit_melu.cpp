// metarec-coldstart: MeLU on implicit feedback (field embeddings meta-learned, the dense head
// adapted per user), with BCE or BPR as the meta-objective.
// SPDX-License-Identifier: Apache-2.0
#include <metarec/recsys/melu.hpp>

#include "implicit_runner.hpp"

namespace coldstart {

std::vector<std::vector<implicit_result>> run_implicit_melu(const implicit_problem& p) {
    using model = mr::recsys::melu<>;
    const mr::recsys::encoder_options features{.item_id = p.options.item_id};
    if (p.implicit.objective == "bpr")
        return run_implicit_model<model, mr::meta::adapt_dense_head, mr::loss::bpr>(p, features, true);
    return run_implicit_model<model, mr::meta::adapt_dense_head, mr::loss::bce_with_logits>(p, features, true);
}

}  // namespace coldstart
