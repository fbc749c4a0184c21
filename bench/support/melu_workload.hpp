// metarec benchmarks: the MeLU workload of the performance issue (the model's fields and
// vocabularies, random users and items, a pool of tasks), on any device.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <vector>

#include <metarec/metarec.hpp>

namespace metarec::bench::melu_workload {

namespace mr = metarec;

constexpr mr::index shots = 10, pool_size = 1024;
// vocabularies: single-valued gender, age, occupation, zip (user) and rate (item); then the
// item's multi-valued genre, director, actor, with a fixed bag size each
inline const std::vector<mr::index> categorical = {2, 7, 21, 3402, 6};
inline const std::vector<mr::index> multi = {25, 2186, 8030};
constexpr mr::index bag_sizes[] = {2, 2, 4};
constexpr int user_fields = 4;

inline mr::nn::input_shape shape() { return {.dense = 0, .categorical = categorical, .multi = multi}; }

//! FLOPs of the matrix products of one task, as the performance issue counts them
inline double task_flops(int order, int steps) { return ((order == 2 ? 2.715 : 0.905) * steps + 1.233) * 1e6; }

/// random users and items, and batches of (user, items) pairs in `Device`'s memory
template <class Device = mr::device::cpu>
struct shop {
    using sample_batch = mr::nn::batch_data<float, Device>;
    mr::detail::rng g{7};

    std::vector<mr::id_type> user() {
        std::vector<mr::id_type> u;
        for (int f = 0; f < user_fields; ++f) u.push_back(mr::id_type(g.below(std::uint64_t(categorical[std::size_t(f)]))));
        return u;
    }
    //! n items for one user: its fields repeated, each item's rate and bags drawn at random;
    //! `user_per_row`: every row a new user's fields instead (no input row constant over the batch)
    sample_batch pairs(const std::vector<mr::id_type>& u, mr::index n, bool user_per_row = false) {
        std::vector<std::vector<mr::id_type>> cat(categorical.size());
        for (mr::index j = 0; j < n; ++j) {
            const auto row_user = user_per_row ? user() : u;
            for (int f = 0; f < user_fields; ++f) cat[std::size_t(f)].push_back(row_user[std::size_t(f)]);
            cat[user_fields].push_back(mr::id_type(g.below(std::uint64_t(categorical[user_fields]))));
        }
        std::vector<mr::nn::host_bags> bags(multi.size());
        for (std::size_t f = 0; f < multi.size(); ++f) {
            bags[f].offsets.push_back(0);
            for (mr::index j = 0; j < n; ++j) {
                for (mr::index k = 0; k < bag_sizes[f]; ++k) bags[f].ids.push_back(mr::id_type(g.below(std::uint64_t(multi[f]))));
                bags[f].offsets.push_back(mr::id_type(bags[f].ids.size()));
            }
        }
        return sample_batch(n, {}, 0, cat, bags);
    }
    std::vector<float> ratings(mr::index n) {
        std::vector<float> y(static_cast<std::size_t>(n));
        for (auto& v : y) v = float(1 + g.below(5));
        return y;
    }
};

/// `count` tasks of distinct users (support and query of `shots` ratings), in `Device`'s memory
template <class Device = mr::device::cpu>
struct task_set {
    std::vector<mr::meta::task_data<float, Device>> storage;
    std::vector<mr::meta::task<mr::nn::batch<float>, float>> tasks;
    explicit task_set(mr::index count) {
        shop<Device> s;
        for (mr::index t = 0; t < count; ++t) {
            const auto u = s.user();
            storage.emplace_back(s.pairs(u, shots), s.ratings(shots), s.pairs(u, shots), s.ratings(shots), t);
        }
        tasks = mr::meta::views(storage);
    }
};

}  // namespace metarec::bench::melu_workload
