// metarec: a fixed catalogue of candidates scored for adapted users, with the candidates'
// features and their product with the meta-learned first head layer computed once.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../detail/thread_pool.hpp"
#include "../device/cpu.hpp"
#include "../meta/adapted.hpp"
#include "../meta/options.hpp"
#include "../nn/nn.hpp"

namespace metarec::recsys {

/// How catalogue::predict scored a request.
enum class catalogue_path {
    low_rank,         //!< the cached product plus the adaptation's change of rank at most the support size
    cached_features,  //!< the cached features times the adapted first layer (the change is not of low rank)
    direct            //!< adapted::predict (another model version, or candidates other than the catalogue's)
};

/// The name of a catalogue_path: "low-rank", "cached-features" or "direct".
inline const char* to_string(catalogue_path path) noexcept {
    switch (path) {
        case catalogue_path::low_rank: return "low-rank";
        case catalogue_path::cached_features: return "cached-features";
        default: return "direct";
    }
}

namespace detail {

/// What recsys::catalogue reads of a model: `nn::model<nn::sequential<Features,
/// nn::sequential<nn::dense<N>, Rest...>>, S, device::cpu>` (recsys::melu) has value true, the
/// features layer, N and the later layers of the head.
template <class Learner>
struct catalogue_model : std::false_type {};

template <class Features, index N, class... Rest, class S>
struct catalogue_model<nn::model<nn::sequential<Features, nn::sequential<nn::dense<N>, Rest...>>, S, device::cpu>>
    : std::true_type {
    using features = Features;                     //!< the frozen layer before the head
    static constexpr index width = N;              //!< outputs of the head's first layer
    static constexpr std::size_t rest = sizeof...(Rest);  //!< the head's later layers
    //! their workspaces
    template <class T, class Device>
    using rest_workspaces = std::tuple<nn::detail::workspace_t<Rest, T, Device>...>;
};

}  // namespace detail

/// A fixed set of candidates (a catalogue, or the items a page can show) scored for users
/// adapted by a MeLU-style algorithm (recsys::melu, meta::melu_maml: the features are
/// meta-learned and frozen, the dense head adapts). Built once per model version, shared
/// read-only by the serving threads (each with its own workspace).
///
/// What it caches: the candidates' features `X` (the embeddings' output: the gather of every
/// candidate's ids is not repeated per request), the rows of `X` that vary between
/// candidates (`m` of them: the item's; the rest, the user's, are one column per request),
/// and `P = W0[:, m] X[m, :]`, the meta-learned first head layer's product with them.
///
/// Why a request then needs less arithmetic. An inner loop of gradient steps changes the
/// first layer by a sum of its gradients, `dW = sum_k -alpha dy_k Xs^T = D Xs^T`, where `Xs`
/// holds the support set's features (frozen) and `D` one column per support sample: dW has
/// rank at most the support size s. So for every candidate c
///
///     W x_c = P[:, c] + D (Xs[m, :]^T X[m, c]) + (W[:, ~m] x_user + b),
///
/// `2 s (m + N)` flops per candidate instead of `2 N m` (MeLU: s = 10, m = 128, N = 64: 3,840
/// instead of 16,384; taken while s (m + N) < N m, s < 43 there). `D` is recovered from `dW` and `Xs` (least squares in double, on the
/// s x s Gram matrix) and accepted only if `D Xs^T` reproduces `dW` within float rounding of
/// W; otherwise (Meta-SGD's per-parameter rates, an inner optimizer with state) the
/// request multiplies the adapted W by the cached features. Either way the scores are
/// adapted::predict's within rounding (not bit for bit: the sums are ordered differently).
///
/// A request whose candidates differ from the catalogue's in an item's field, or whose
/// `adapted` comes from another model version (meta::adapted::version), is scored by
/// adapted::predict instead: correct, at the direct cost. After the model changes, build a
/// new catalogue.
/// @code
/// metarec::recsys::catalogue<model> shop{algo, candidates};  // once per model version
/// auto ws = shop.make_workspace();                            // once per serving thread
/// algo.adapt(support, ratings, personal, {.steps = 5});
/// shop.predict(personal, support, candidates, scores, ws);    // candidates: the user's rows
/// @endcode
/// @tparam Learner `nn::model<nn::sequential<Features, nn::sequential<nn::dense<N>, Rest...>>,
///                 Scalar, device::cpu>` (recsys::melu)
template <class Learner>
class catalogue {
    static_assert(detail::catalogue_model<Learner>::value,
                  "metarec: recsys::catalogue needs nn::model<sequential<Features, sequential<dense<N>, ...>>, "
                  "Scalar, device::cpu> (recsys::melu)");
    using traits = detail::catalogue_model<Learner>;
    using Features = typename traits::features;
    using D = device::cpu;
    using S = typename Learner::scalar_type;
    using matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
    static constexpr index N = traits::width;
    static constexpr std::size_t rest = traits::rest;

public:
    using learner_type = Learner;                          //!< the model
    using input_type = typename learner_type::input_type;  //!< a batch

    /// Scratch memory of one serving thread (grows with the largest support set, then is reused).
    struct workspace {
        /// @cond INTERNAL
        index support = -1;
        nn::detail::workspace_t<Features, S, D> features;
        typename traits::template rest_workspaces<S, D> layers;
        std::vector<S> xs, x0, k, w_varying, xs_varying, d, z, h, ping, pong;
        matrix dw64, xs64, a, gram, dm, kept, residual;
        std::vector<index> order;
        /// @endcond
    };

    /// Caches the candidates' features and their product with the first head layer.
    /// @param algo       a meta-algorithm whose learner() is a learner_type (its parameters
    ///                   are the meta-learned ones; its version() stamps the cache)
    /// @param candidates the candidates, one sample each, for any one user (their user fields
    ///                   are ignored: a request brings its own); std::invalid_argument if the
    ///                   batch does not match the model or is empty
    template <class Algorithm>
    catalogue(const Algorithm& algo, const input_type& candidates)
        : catalogue(algo.learner(), algo.version(), candidates) {}

    /// The same from the learner and the version of its parameters (meta::algorithm::version()).
    catalogue(const learner_type& learner, std::uint64_t version, const input_type& candidates)
        : learner_(&learner), version_(version), size_(candidates.size()) {
        if (size_ <= 0) throw std::invalid_argument("metarec: catalogue: no candidate");
        learner.validate(candidates);
        const auto& net = learner.network();
        const S* theta = learner.parameters();
        in_ = first().in_rows();
        std::vector<S> x(std::size_t(in_ * size_));
        auto ws = nn::detail::make_workspace<S, D>(net.template layer<0>(), size_);
        net.template layer<0>().template forward<D>(theta, candidates, x.data(), size_, ws);
        for (index r = 0; r < in_; ++r) {
            bool same = true;
            for (index j = 1; j < size_ && same; ++j) same = x[std::size_t(r + j * in_)] == x[std::size_t(r)];
            (same ? constant_ : varying_).push_back(r);
        }
        const index m = index(varying_.size());
        varying_features_.resize(std::size_t(m * size_));
        for (index j = 0; j < size_; ++j)
            for (index i = 0; i < m; ++i)
                varying_features_[std::size_t(j + i * size_)] = x[std::size_t(varying_[std::size_t(i)] + j * in_)];
        w0_varying_.resize(std::size_t(N * m));
        gather_columns(weights(theta), w0_varying_.data());
        product_.assign(std::size_t(N * size_), S(0));
        if (m > 0)
            D::gemm(transpose::no, transpose::yes, N, size_, m, S(1), w0_varying_.data(), N, varying_features_.data(),
                    size_, S(0), product_.data(), N);
        keep_identity(candidates);
    }

    //! scratch memory for one serving thread
    workspace make_workspace() const {
        workspace ws{};
        ws.features = nn::detail::make_workspace<S, D>(learner_->network().template layer<0>(), 1);
        make_layer_workspaces(ws, std::make_index_sequence<rest>{});
        const auto size = std::size_t(size_);
        ws.x0.resize(std::size_t(in_));
        ws.k.resize(std::size_t(N));
        ws.w_varying.resize(std::size_t(N) * varying_.size());
        ws.h.resize(std::size_t(N) * size);
        index widest = N;
        for_each_rest([&](const auto& layer, auto) { widest = std::max(widest, layer.out_rows()); });
        ws.ping.resize(std::size_t(widest) * size);
        ws.pong.resize(ws.ping.size());
        return ws;
    }

    /// Scores the candidates for an adapted user: `learner().output_rows() x size()` values
    /// into `scores`, adapted::predict's within float rounding. `support` is the set the user
    /// was adapted on (its features give the adaptation's low-rank form; another set only
    /// costs the low-rank path); `candidates` the catalogue's candidates in its order with
    /// this user's fields. Returns how the request was scored. std::invalid_argument if
    /// `support` or the candidates' first sample does not match the model.
    catalogue_path predict(meta::adapted<learner_type>& personal, const input_type& support,
                           const input_type& candidates, S* scores, workspace& ws) const {
        if (&personal.learner() != learner_ || personal.version() != version_ || !same_items(candidates)) {
            personal.predict(candidates, scores);
            return catalogue_path::direct;
        }
        const S* theta = personal.parameters();
        const auto& features = learner_->network().template layer<0>();
        // this user's features: the constant rows of the candidates' first sample
        const input_type first_sample{1, candidates.dense, candidates.dense_dim, candidates.categorical, candidates.multi};
        learner_->validate(first_sample);
        features.template forward<D>(theta, first_sample, ws.x0.data(), 1, ws.features);
        // k = W[:, constant] x_user + b, the same for every candidate
        const S* w = weights(theta);
        S* k = ws.k.data();
        D::copy(N, w + N * in_, k);
        for (const index r : constant_) D::axpy(N, ws.x0[std::size_t(r)], w + N * r, k);

        using map = Eigen::Map<Eigen::Matrix<S, N, Eigen::Dynamic>>;
        using vector_map = Eigen::Map<const Eigen::Matrix<S, N, 1>>;
        map h(ws.h.data(), N, size_);
        const index m = index(varying_.size());
        gather_columns(w, ws.w_varying.data());
        const bool low_rank = m > 0 && low_rank_change(features, theta, support, ws);
        if (low_rank) {
            // h = P + D (Xs[m, :]^T X[m, :]) + k
            const index s = support.size();
            h.noalias() = Eigen::Map<const Eigen::Matrix<S, N, Eigen::Dynamic>>(product_.data(), N, size_).colwise() +
                          vector_map(k);
            // Z^T = X[m, :]^T Xs[m, :], in blocks of candidates whose packed rows fit Eigen's stack buffer
            const index rows = std::max<index>(24, index(EIGEN_STACK_ALLOCATION_LIMIT) / (m * index(sizeof(S))) / 24 * 24);
            for (index first = 0; first < size_; first += rows)
                D::gemm(transpose::no, transpose::no, std::min(rows, size_ - first), s, m, S(1),
                        varying_features_.data() + first, size_, ws.xs_varying.data(), m, S(0), ws.z.data() + first, size_);
            D::gemm(transpose::no, transpose::yes, N, size_, s, S(1), ws.d.data(), N, ws.z.data(), size_, S(1), h.data(), N);
        } else {
            // h = W[:, m] X[m, :] + k
            h.colwise() = vector_map(k);
            if (m > 0)
                D::gemm(transpose::no, transpose::yes, N, size_, m, S(1), ws.w_varying.data(), N,
                        varying_features_.data(), size_, S(1), h.data(), N);
        }
        forward_rest(theta, scores, ws);
        return low_rank ? catalogue_path::low_rank : catalogue_path::cached_features;
    }

    //! number of candidates
    index size() const noexcept { return size_; }
    //! the version of the meta-parameters the cache was computed from
    std::uint64_t version() const noexcept { return version_; }
    //! the rows of the features that vary between the candidates (the items'; the others are the user's)
    index varying_rows() const noexcept { return index(varying_.size()); }

private:
    const auto& first() const noexcept { return learner_->network().template layer<1>().template layer<0>(); }
    const S* weights(const S* theta) const noexcept { return theta + first().offset(); }

    // the columns `varying_` of the first layer's W (N x in) into out (N x m)
    void gather_columns(const S* w, S* out) const {
        for (std::size_t i = 0; i < varying_.size(); ++i) D::copy(N, w + N * varying_[i], out + N * index(i));
    }

    // Whether dW = W[:, m] - W0[:, m] is D Xs[m, :]^T within rounding; if so, D is in ws.d and
    // Xs[m, :] in ws.xs_varying. D = dW Xs G^-1 (G = Xs^T Xs, s x s) in double, on the
    // support samples that the pivoted Cholesky factor of G keeps (solve_gram). Accepted when
    // D, rounded to S, reproduces dW within 16 roundings of |W|, and |D| |Xs| <= |W|: then the
    // float products D (Xs^T x) round no worse than W x.
    bool low_rank_change(const Features& features, const S* theta, const input_type& support, workspace& ws) const {
        const index s = support.size(), m = index(varying_.size());
        if (s <= 0 || s * (m + N) >= N * m) return false;  // not fewer flops than W X
        learner_->validate(support);
        if (s > ws.support) {
            ws.features = nn::detail::make_workspace<S, D>(features, s);
            ws.support = s;
        }
        ws.xs.resize(std::size_t(in_ * s));
        ws.xs_varying.resize(std::size_t(m * s));
        ws.d.resize(std::size_t(N * s));
        ws.z.resize(std::size_t(s * size_));
        features.template forward<D>(theta, support, ws.xs.data(), s, ws.features);
        for (index j = 0; j < s; ++j)
            for (index i = 0; i < m; ++i)
                ws.xs_varying[std::size_t(i + j * m)] = ws.xs[std::size_t(varying_[std::size_t(i)] + j * in_)];

        using fmap = Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>;
        const fmap w(ws.w_varying.data(), N, m), w0(w0_varying_.data(), N, m), xs(ws.xs_varying.data(), m, s);
        ws.dw64 = w.template cast<double>() - w0.template cast<double>();
        ws.xs64 = xs.template cast<double>();
        ws.a.noalias() = ws.dw64 * ws.xs64;
        ws.gram.noalias() = ws.xs64.transpose() * ws.xs64;
        if (!solve_gram(s, ws)) return false;
        Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> d(ws.d.data(), N, s);
        d = ws.dm.template cast<S>();
        ws.dm = d.template cast<double>();  // D as the products will use it
        ws.residual.noalias() = ws.dm * ws.xs64.transpose();
        ws.residual -= ws.dw64;
        const double scale = w.template cast<double>().norm();
        const double tolerance = 16.0 * double(std::numeric_limits<S>::epsilon()) * scale;
        const double residual = ws.residual.norm();
        return std::isfinite(residual) && residual <= tolerance && ws.dm.norm() * ws.xs64.norm() <= scale;
    }

    // ws.dm = ws.a G^-1 on the support samples kept by a Cholesky factorization of G = ws.gram
    // with diagonal pivoting (G = L L^T, in place), stopped where the largest remaining pivot
    // is under 1e-9 of the largest diagonal (a repeated or dependent sample: its column of D
    // is 0, and the residual check says whether dW needed it). False if G is 0.
    bool solve_gram(index s, workspace& ws) const {
        auto& g = ws.gram;
        auto& order = ws.order;
        order.resize(std::size_t(s));
        for (index k = 0; k < s; ++k) order[std::size_t(k)] = k;
        const double largest = g.diagonal().maxCoeff();
        if (!(largest > 0)) return false;
        index rank = 0;
        for (; rank < s; ++rank) {
            index pivot = rank;
            for (index j = rank + 1; j < s; ++j)
                if (g(j, j) > g(pivot, pivot)) pivot = j;
            if (!(g(pivot, pivot) > 1e-9 * largest)) break;
            if (pivot != rank) {  // symmetric swap of rows and columns
                g.row(rank).swap(g.row(pivot));
                g.col(rank).swap(g.col(pivot));
                std::swap(order[std::size_t(rank)], order[std::size_t(pivot)]);
            }
            const double root = std::sqrt(g(rank, rank));
            g(rank, rank) = root;
            for (index i = rank + 1; i < s; ++i) g(i, rank) /= root;
            for (index j = rank + 1; j < s; ++j)  // the whole trailing block, so that later swaps stay symmetric
                for (index i = rank + 1; i < s; ++i) g(i, j) -= g(i, rank) * g(j, rank);
        }
        // each row a of ws.a restricted to the kept samples: x L L^T = a, by two substitutions
        ws.dm.setZero(N, s);
        for (index r = 0; r < N; ++r) {
            double* x = ws.dm.data() + r;  // row r of dm, stride N: x[k * N] for kept sample k
            for (index k = 0; k < rank; ++k) {
                double v = ws.a(r, order[std::size_t(k)]);
                for (index l = 0; l < k; ++l) v -= g(k, l) * x[l * N];
                x[k * N] = v / g(k, k);
            }
            for (index k = rank - 1; k >= 0; --k) {
                double v = x[k * N];
                for (index l = k + 1; l < rank; ++l) v -= g(l, k) * x[l * N];
                x[k * N] = v / g(k, k);
            }
        }
        // back to the samples' order: column k of the solution belongs to sample order[k]
        ws.kept = ws.dm;
        ws.dm.setZero();
        for (index k = 0; k < rank; ++k) ws.dm.col(order[std::size_t(k)]) = ws.kept.col(k);
        return true;
    }

    // h through the head's later layers into the scores
    void forward_rest(const S* theta, S* scores, workspace& ws) const {
        const S* in = ws.h.data();
        if constexpr (rest == 0) D::copy(N * size_, in, scores);
        S* buffers[2] = {ws.ping.data(), ws.pong.data()};
        for_each_rest([&](const auto& layer, auto i) {
            constexpr std::size_t I = decltype(i)::value;
            S* out = I + 1 == rest ? scores : buffers[I % 2];
            layer.template forward<D>(theta, in, out, size_, std::get<I>(ws.layers));
            in = out;
        });
    }

    template <class F>
    void for_each_rest(F&& f) const {
        const auto& head = learner_->network().template layer<1>();
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(head.template layer<I + 1>(), std::integral_constant<std::size_t, I>{}), ...);
        }(std::make_index_sequence<rest>{});
    }

    template <std::size_t... I>
    void make_layer_workspaces(workspace& ws, std::index_sequence<I...>) const {
        const auto& head = learner_->network().template layer<1>();
        ((std::get<I>(ws.layers) = nn::detail::make_workspace<S, D>(head.template layer<I + 1>(), size_)), ...);
    }

    // --- which requests are this catalogue's: every field that varies between the
    // candidates equal, every field that does not the same in all of the request's samples
    struct bag_copy {
        std::vector<id_type> offsets, ids;
        bool constant = false;
    };

    void keep_identity(const input_type& x) {
        const auto n = std::size_t(size_);
        for (const id_type* ids : x.categorical) {
            categorical_.emplace_back(ids, ids + n);
            categorical_constant_.push_back(constant_ids(ids));
        }
        for (const auto& bag : x.multi) {
            bag_copy c{{bag.offsets, bag.offsets + n + 1}, {bag.ids, bag.ids + bag.offsets[n]}, constant_bags(bag)};
            multi_.push_back(std::move(c));
        }
        dense_dim_ = x.dense_dim;
        if (dense_dim_ > 0) dense_.assign(x.dense, x.dense + dense_dim_ * size_);
        for (index r = 0; r < dense_dim_; ++r) dense_constant_.push_back(constant_dense_row(x.dense, r));
    }

    bool constant_ids(const id_type* ids) const {
        for (index j = 1; j < size_; ++j)
            if (ids[j] != ids[0]) return false;
        return true;
    }
    bool constant_bags(const nn::bag_field& bag) const {
        const id_type length = bag.offsets[1] - bag.offsets[0];
        for (index j = 1; j < size_; ++j)
            if (bag.offsets[j + 1] - bag.offsets[j] != length ||
                std::memcmp(bag.ids + bag.offsets[j], bag.ids, sizeof(id_type) * std::size_t(length)) != 0)
                return false;
        return true;
    }
    bool constant_dense_row(const S* dense, index r) const {
        for (index j = 1; j < size_; ++j)
            if (std::memcmp(dense + r + j * dense_dim_, dense + r, sizeof(S)) != 0) return false;
        return true;
    }

    bool same_items(const input_type& x) const {
        if (x.size() != size_ || x.dense_dim != dense_dim_ || x.categorical.size() != categorical_.size() ||
            x.multi.size() != multi_.size())
            return false;
        const auto n = std::size_t(size_);
        for (std::size_t f = 0; f < categorical_.size(); ++f) {
            const id_type* ids = x.categorical[f];
            if (categorical_constant_[f] ? !constant_ids(ids)
                                         : std::memcmp(ids, categorical_[f].data(), sizeof(id_type) * n) != 0)
                return false;
        }
        for (std::size_t f = 0; f < multi_.size(); ++f) {
            const auto& bag = x.multi[f];
            const auto& kept = multi_[f];
            if (kept.constant) {
                if (!constant_bags(bag)) return false;
            } else if (std::memcmp(bag.offsets, kept.offsets.data(), sizeof(id_type) * (n + 1)) != 0 ||
                       std::memcmp(bag.ids, kept.ids.data(), sizeof(id_type) * kept.ids.size()) != 0) {
                return false;
            }
        }
        for (index r = 0; r < dense_dim_; ++r) {
            if (dense_constant_[std::size_t(r)]) {
                if (!constant_dense_row(x.dense, r)) return false;
            } else {
                for (index j = 0; j < size_; ++j)
                    if (std::memcmp(x.dense + r + j * dense_dim_, dense_.data() + r + j * dense_dim_, sizeof(S)) != 0)
                        return false;
            }
        }
        return true;
    }

    const learner_type* learner_;
    std::uint64_t version_;
    index size_, in_ = 0;
    std::vector<index> varying_, constant_;  // rows of the features
    std::vector<S> varying_features_;        // X[m, :]^T, size x m (a candidate's features in a row)
    std::vector<S> w0_varying_;              // W0[:, m], N x m
    std::vector<S> product_;                 // P = W0[:, m] X[m, :], N x size
    std::vector<std::vector<id_type>> categorical_;
    std::vector<char> categorical_constant_;
    std::vector<bag_copy> multi_;
    index dense_dim_ = 0;
    std::vector<S> dense_;
    std::vector<char> dense_constant_;
};

/// Serves a batch of new users at once (a page of sign-ups, tonight's e-mails): adapts each
/// on its support set and scores a catalogue for it, the users spread over a pool of
/// threads, each thread with its own adapted model and catalogue workspace (kept between
/// batches: a batch allocates nothing once every thread has served a request as large).
/// User i is served by thread `i % threads`; its scores do not depend on the thread count.
/// One batch at a time: serve() is not to be called from two threads at once (give each
/// serving thread a server of its own; they share the algorithm and the catalogue).
/// @code
/// metarec::recsys::catalogue_server server{algo, shop, /*threads=*/2};
/// server.serve(requests, scores.data());  // scores: shop.size() per request, in order
/// @endcode
/// @tparam Algorithm the meta-algorithm (its adapt() and learner(), a catalogue's learner)
template <class Algorithm>
class catalogue_server {
public:
    using learner_type = std::remove_cvref_t<decltype(std::declval<const Algorithm&>().learner())>;  //!< the model
    using input_type = typename learner_type::input_type;                                              //!< a batch
    using scalar_type = typename learner_type::scalar_type;                                            //!< float or double

    /// One user of a batch.
    struct request {
        input_type support;                  //!< what the user rated (or bought)
        const scalar_type* target = nullptr;  //!< its ratings (targets), `support.size()` of them
        input_type candidates;               //!< the catalogue's candidates with this user's fields
    };

    /// A server of `algo` (which must outlive it, as must `shop`) on `threads` threads, the
    /// caller's included.
    catalogue_server(const Algorithm& algo, const catalogue<learner_type>& shop, int threads = 1)
        : algo_(&algo), shop_(&shop), pool_(threads), personal_(std::size_t(pool_.size())) {
        for (int t = 0; t < pool_.size(); ++t) workspaces_.push_back(shop.make_workspace());
    }

    /// Adapts every request's user (algorithm::adapt with `options`) and scores the catalogue
    /// for it: request i's `output_rows() x shop.size()` scores at `scores + i * that`. The
    /// first exception of any request (a malformed batch) is rethrown after the batch.
    /// @return how each request was scored (catalogue::predict)
    std::vector<catalogue_path> serve(std::span<const request> requests, scalar_type* scores,
                                      meta::adapt_options options = {}) {
        std::vector<catalogue_path> paths(requests.size(), catalogue_path::direct);
        const index stride = algo_->learner().output_rows() * shop_->size();
        pool_.run(index(requests.size()), [&](index i, int thread) {
            const auto& r = requests[std::size_t(i)];
            auto& personal = personal_[std::size_t(thread)];
            if (personal) algo_->adapt(r.support, r.target, *personal, options);
            else personal.emplace(algo_->adapt(r.support, r.target, options));
            paths[std::size_t(i)] =
                shop_->predict(*personal, r.support, r.candidates, scores + i * stride, workspaces_[std::size_t(thread)]);
        });
        return paths;
    }

    //! the threads, the caller's included
    int threads() const noexcept { return pool_.size(); }

private:
    const Algorithm* algo_;
    const catalogue<learner_type>* shop_;
    metarec::detail::thread_pool pool_;
    std::vector<std::optional<meta::adapted<learner_type>>> personal_;  // one per thread
    std::vector<typename catalogue<learner_type>::workspace> workspaces_;
};

}  // namespace metarec::recsys
