// metarec tests: finite differences, error measures and random test batches.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <metarec/detail/random.hpp>
#include <metarec/nn/batch.hpp>

namespace metarec::test {

//! ||a - b|| / max(||a||, ||b||, tiny): the relative error of two vectors
template <class S>
double relative_error(const S* a, const S* b, index n) {
    double diff = 0, na = 0, nb = 0;
    for (index i = 0; i < n; ++i) {
        diff += double(a[i] - b[i]) * double(a[i] - b[i]);
        na += double(a[i]) * double(a[i]);
        nb += double(b[i]) * double(b[i]);
    }
    return std::sqrt(diff) / std::max({std::sqrt(na), std::sqrt(nb), 1e-300});
}
template <class S>
double relative_error(const std::vector<S>& a, const std::vector<S>& b) {
    return relative_error(a.data(), b.data(), index(a.size()));
}

template <class S>
double dot(const std::vector<S>& a, const std::vector<S>& b) {
    double acc = 0;
    for (std::size_t i = 0; i < a.size(); ++i) acc += double(a[i]) * double(b[i]);
    return acc;
}

/// Central differences of a scalar function of a vector along the coordinates `at`:
/// (f(x + h e_i) - f(x - h e_i)) / 2h for each i of `at`, in that order.
inline std::vector<double> numeric_partials(const std::function<double(const std::vector<double>&)>& f,
                                            std::vector<double> x, const std::vector<std::size_t>& at,
                                            double h = 1e-6) {
    std::vector<double> g;
    g.reserve(at.size());
    for (const std::size_t i : at) {
        const double keep = x[i];
        x[i] = keep + h;
        const double plus = f(x);
        x[i] = keep - h;
        const double minus = f(x);
        x[i] = keep;
        g.push_back((plus - minus) / (2 * h));
    }
    return g;
}

/// Central differences of a scalar function of a vector, every coordinate.
inline std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                            const std::vector<double>& x, double h = 1e-6) {
    std::vector<std::size_t> every(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) every[i] = i;
    return numeric_partials(f, x, every, h);
}

/// Central difference of a vector function along a direction: (F(x + h v) - F(x - h v)) / 2h.
inline std::vector<double> numeric_directional(
    const std::function<std::vector<double>(const std::vector<double>&)>& f, const std::vector<double>& x,
    const std::vector<double>& v, double h = 1e-6) {
    std::vector<double> plus = x, minus = x;
    for (std::size_t i = 0; i < x.size(); ++i) {
        plus[i] += h * v[i];
        minus[i] -= h * v[i];
    }
    auto fp = f(plus), fm = f(minus);
    for (std::size_t i = 0; i < fp.size(); ++i) fp[i] = (fp[i] - fm[i]) / (2 * h);
    return fp;
}

inline std::vector<double> random_vector(detail::rng& g, std::size_t n, double lo = -1, double hi = 1) {
    std::vector<double> v(n);
    for (auto& x : v) x = g.uniform(lo, hi);
    return v;
}

/// Owning storage for a random input batch on the host, with its nn::batch view.
template <class S>
struct random_batch {
    std::vector<S> dense;
    std::vector<std::vector<id_type>> categorical;
    std::vector<std::vector<id_type>> offsets, ids;
    std::vector<const id_type*> categorical_ptrs;
    std::vector<nn::bag_field> bags;
    index samples = 0, dense_dim = 0;

    /// `samples` samples for the given shape; bags hold 0..max_bag ids (sample 1's bag is empty).
    random_batch(const nn::input_shape& shape, index samples_, std::uint64_t seed, index max_bag = 4)
        : samples(samples_), dense_dim(shape.dense) {
        detail::rng g(seed);
        for (index i = 0; i < shape.dense * samples; ++i) dense.push_back(S(g.uniform(-1, 1)));
        for (index vocabulary : shape.categorical) {
            auto& f = categorical.emplace_back();
            for (index j = 0; j < samples; ++j) f.push_back(id_type(g.below(std::uint64_t(vocabulary))));
        }
        for (index vocabulary : shape.multi) {
            auto& o = offsets.emplace_back(1, 0);
            auto& f = ids.emplace_back();
            for (index j = 0; j < samples; ++j) {
                const index length = j == 1 ? 0 : 1 + index(g.below(std::uint64_t(max_bag)));
                for (index k = 0; k < length; ++k) f.push_back(id_type(g.below(std::uint64_t(vocabulary))));
                o.push_back(id_type(f.size()));
            }
        }
        for (auto& f : categorical) categorical_ptrs.push_back(f.data());
        for (std::size_t f = 0; f < ids.size(); ++f) bags.push_back({offsets[f].data(), ids[f].data()});
    }
    random_batch(const random_batch&) = delete;

    nn::batch<S> view() const {
        return nn::batch<S>{samples, dense.empty() ? nullptr : dense.data(), dense_dim, categorical_ptrs, bags};
    }
};

}  // namespace metarec::test
