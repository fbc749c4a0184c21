// metarec-coldstart: two towers (user tower adapted per user, item tower shared).
// SPDX-License-Identifier: Apache-2.0
#include <metarec/recsys/two_tower.hpp>

#include "runner.hpp"

namespace coldstart {

std::vector<result> run_two_tower(const problem& p) {
    using model = mr::recsys::two_tower<>;
    return run_selected(p, [](const problem& q) {
        return model_traits<model, mr::recsys::adapt_user>{.features = {.item_id = q.options.item_id}};
    });
}

}  // namespace coldstart
