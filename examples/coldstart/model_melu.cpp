// metarec-coldstart: MeLU (field embeddings meta-learned, the dense head adapted per user).
// SPDX-License-Identifier: Apache-2.0
#include <metarec/recsys/melu.hpp>

#include "id_warmup.hpp"
#include "runner.hpp"

namespace coldstart {

std::vector<result> run_melu(const problem& p) {
    using model = mr::recsys::melu<>;
    auto rows = run_selected(p, [](const problem& q) {
        return model_traits<model, mr::meta::adapt_dense_head>{.features = {.item_id = q.options.item_id}, .supports_anil = true};
    });
    if (p.options.id_warmup != "none")
        for (auto& row : run_id_warmup<model>(p)) rows.push_back(std::move(row));
    return rows;
}

}  // namespace coldstart
