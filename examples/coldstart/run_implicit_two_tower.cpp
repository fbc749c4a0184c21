// metarec-coldstart: two towers on implicit feedback (the user tower, reading the user's fields
// and history, adapted per user; the item tower shared), with BCE or BPR as the meta-objective.
// SPDX-License-Identifier: Apache-2.0
#include <metarec/recsys/two_tower.hpp>

#include "implicit_runner.hpp"

namespace coldstart {

std::vector<std::vector<implicit_result>> run_implicit_two_tower(const implicit_problem& p) {
    using model = mr::recsys::two_tower<>;
    const mr::recsys::encoder_options features{.item_id = p.options.item_id};
    if (p.implicit.objective == "bpr")
        return run_implicit_model<model, mr::recsys::adapt_user, mr::loss::bpr>(p, features, false);
    return run_implicit_model<model, mr::recsys::adapt_user, mr::loss::bce_with_logits>(p, features, false);
}

}  // namespace coldstart
