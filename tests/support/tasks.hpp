// metarec tests: random regression tasks on a given input shape, for the meta-algorithm suites.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <vector>

#include <metarec/device/cpu.hpp>  // meta::task_data<double>: the default device
#include <metarec/meta/task.hpp>
#include <metarec/nn/batch_data.hpp>

#include "numeric.hpp"

namespace metarec::test {

/// Random regression tasks on a given input shape, owned.
struct task_pool {
    std::vector<meta::task_data<double>> data;
    std::vector<meta::task<nn::batch<double>, double>> tasks;

    /// Targets are random (structured = false), or follow a task family that rewards
    /// meta-learning: y = a_t (x_0 - x_1 / 2) + c_t + u[id] with a shared table u and
    /// task-specific a_t, c_t (structured = true; needs dense >= 2 and one categorical field).
    task_pool(const nn::input_shape& shape, int count, index support, index query, std::uint64_t seed,
              bool structured = false) {
        detail::rng g(seed);
        const auto shared = random_vector(g, 64, -1, 1);
        for (int t = 0; t < count; ++t) {
            const double scale = g.uniform(0.5, 1.5), offset = g.uniform(-1, 1);
            const auto make = [&](index n, std::vector<double>& target) {
                random_batch<double> b{shape, n, g.next()};
                target = random_vector(g, std::size_t(n), -1, 1);
                if (structured)
                    for (index j = 0; j < n; ++j)
                        target[std::size_t(j)] = scale * (b.dense[std::size_t(2 * j)] - 0.5 * b.dense[std::size_t(2 * j + 1)]) +
                                                 offset + shared[std::size_t(b.categorical[0][std::size_t(j)])];
                std::vector<nn::host_bags> bags;
                for (std::size_t f = 0; f < b.ids.size(); ++f) bags.push_back({b.offsets[f], b.ids[f]});
                return nn::batch_data<double>(n, b.dense, shape.dense, b.categorical, bags);
            };
            std::vector<double> support_target, query_target;
            auto s = make(support, support_target);
            auto q = make(query, query_target);
            data.emplace_back(std::move(s), support_target, std::move(q), query_target, t);
        }
        tasks = meta::views(data);
    }
};

}  // namespace metarec::test
