// metarec: several branches over the same input, their outputs stacked.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <tuple>
#include <utility>

#include "layer.hpp"
#include "sequential.hpp"

namespace metarec::nn {

/// Runs every branch on the same input and stacks their outputs row-wise:
/// `y = [f_1(x); f_2(x); ...]`. The typical first layer of a recommender:
/// @code
/// using features = concat<embedding<32, 0>, embedding<32, 1>, embedding_bag<32, 0>,
///                         sequential<dense<16>, relu>>;   // numeric features through a small MLP
/// using net = sequential<features, dense<64>, relu, dense<1>>;
/// @endcode
/// Backward splits dy by rows; when the input is itself a layer output, the input gradient is
/// the sum of the branches' input gradients. Parameters follow each other in branch order.
/// @tparam Branches layers or chains (each follows the layer protocol, layer.hpp)
template <class... Branches>
class concat : public layer_base {
    static_assert(sizeof...(Branches) >= 1, "metarec: concat<> needs at least one branch");
    static constexpr std::size_t count = sizeof...(Branches);

public:
    static constexpr std::string_view name = "concat";  //!< the layer's name (its branches name their own slices)

    //! configures every branch on the same input, their parameters one after the other;
    //! returns the sum of their output rows
    index configure(const input_shape& source, index in_rows, index offset) {
        in_rows_ = in_rows;
        offset_ = offset;
        index rows = 0, b = 0;
        std::apply(
            [&](auto&... branch) {
                ((first_row_[std::size_t(b++)] = rows, rows += branch.configure(source, in_rows, offset),
                  offset += branch.parameter_count()),
                 ...);
            },
            branches_);
        out_rows_ = rows;
        return rows;
    }
    //! the sum over the branches
    index parameter_count() const {
        return std::apply([](const auto&... branch) { return (index{0} + ... + branch.parameter_count()); }, branches_);
    }
    //! initializes every branch
    template <class S>
    void initialize(S* theta, metarec::detail::rng& g) const {
        std::apply([&](const auto&... branch) { (branch.initialize(theta, g), ...); }, branches_);
    }
    //! the slices of every branch, at depth + 1
    void collect_slices(std::vector<parameter_slice>& out, int depth) const {
        std::apply([&](const auto&... branch) { (detail::collect_slices(branch, out, depth + 1), ...); }, branches_);
    }
    //! what each branch's gradient on `x` can touch
    template <class S>
    void touched_parameters(const batch<S>& x, std::vector<parameter_range>& out) const {
        std::apply([&](const auto&... branch) { (detail::touched_parameters(branch, x, out), ...); }, branches_);
    }
    //! lets every branch check the batch (e.g. ids inside the vocabularies)
    template <class D, class S>
    void validate(const batch<S>& x) const {
        std::apply([&](const auto&... branch) { (detail::validate_layer<std::decay_t<decltype(branch)>, D>(branch, x), ...); },
                   branches_);
    }

    //! the B-th branch
    template <std::size_t B>
    const auto& branch() const noexcept {
        return std::get<B>(branches_);
    }

    /// Scratch memory of one thread: the branches' workspaces and, per branch, the buffers
    /// that its rows of the stacked matrices pass through.
    /// @tparam S scalar type
    /// @tparam D device policy
    template <class S, class D>
    struct workspace {
        std::tuple<detail::workspace_t<Branches, S, D>...> branches;  //!< the branches' own workspaces
        /// @{
        /// @brief per branch: output, its gradient, R-output, R-gradient, input gradient, R-input gradient
        std::array<typename D::template vector<S>, count> y, dy, ry, rdy, dx, rdx;
        /// @}
    };

    //! scratch memory for batches of up to max_samples samples
    template <class S, class D>
    workspace<S, D> make_workspace(index max_samples) const {
        workspace<S, D> ws{make_children<S, D>(max_samples, std::index_sequence_for<Branches...>{}), {}, {}, {}, {}, {}, {}};
        for_each_branch([&]<std::size_t B>(const auto& branch) {
            for (auto* buffers : {&ws.y, &ws.dy, &ws.ry, &ws.rdy})
                (*buffers)[B] = typename D::template vector<S>(branch.out_rows() * max_samples);
            for (auto* buffers : {&ws.dx, &ws.rdx}) (*buffers)[B] = typename D::template vector<S>(in_rows_ * max_samples);
        });
        return ws;
    }

    //! y = [f_1(x); f_2(x); ...]: every branch on x, outputs stacked (a branch that makes
    //! every row, the others making none, writes into y directly)
    template <class D, class S, class X, class W>
    void forward(const S* theta, const X& x, S* y, index n, W& ws) const {
        for_each_branch([&]<std::size_t B>(const auto& branch) {
            if (alone(branch)) return branch.template forward<D>(theta, x, y, n, std::get<B>(ws.branches));
            branch.template forward<D>(theta, x, ws.y[B].data(), n, std::get<B>(ws.branches));
            stack<D, B>(branch, ws.y[B].data(), y, n);
        });
    }

    //! every branch's backward pass on its rows of dy; dx = the sum of the branches' input gradients
    template <class D, class S, class X, class W>
    void backward(const S* theta, const X& x, const S* dy, S* dx, S* grad, index n, W& ws) const {
        for_each_branch([&]<std::size_t B>(const auto& branch) {
            const S* branch_dy = alone(branch) ? dy : unstack<D, B>(branch, dy, ws.dy[B].data(), n);
            branch.template backward<D>(theta, x, branch_dy, dx ? ws.dx[B].data() : nullptr, grad, n,
                                        std::get<B>(ws.branches));
            if (dx) accumulate<D, B>(ws.dx[B].data(), dx, n);
        });
    }

    //! ry = [R{f_1}; R{f_2}; ...]: every branch's R-forward pass, stacked
    template <class D, class S, class X, class W>
    void r_forward(const S* theta, const S* v, const X& x, const S* rx, S* ry, index n, W& ws) const {
        for_each_branch([&]<std::size_t B>(const auto& branch) {
            if (alone(branch)) return branch.template r_forward<D>(theta, v, x, rx, ry, n, std::get<B>(ws.branches));
            branch.template r_forward<D>(theta, v, x, rx, ws.ry[B].data(), n, std::get<B>(ws.branches));
            stack<D, B>(branch, ws.ry[B].data(), ry, n);
        });
    }

    //! every branch's fused backward and R-backward pass on its rows of dy and rdy; dx and
    //! rdx summed over the branches
    template <class D, class S, class X, class W>
    void r_backward(const S* theta, const S* v, const X& x, const S* rx, const S* dy, const S* rdy, S* dx, S* rdx,
                    S* grad, S* hv, index n, W& ws) const {
        for_each_branch([&]<std::size_t B>(const auto& branch) {
            const S* branch_dy = alone(branch) ? dy : unstack<D, B>(branch, dy, ws.dy[B].data(), n);
            const S* branch_rdy = alone(branch) ? rdy : unstack<D, B>(branch, rdy, ws.rdy[B].data(), n);
            branch.template r_backward<D>(theta, v, x, rx, branch_dy, branch_rdy, dx ? ws.dx[B].data() : nullptr,
                                          rdx ? ws.rdx[B].data() : nullptr, grad, hv, n, std::get<B>(ws.branches));
            if (dx) accumulate<D, B>(ws.dx[B].data(), dx, n);
            if (rdx) accumulate<D, B>(ws.rdx[B].data(), rdx, n);
        });
    }

    /// @{
    /// @brief The task-batched passes (layer.hpp), branch by branch as above on the `n tasks`
    /// columns of all tasks; present when every branch has them. Make the workspace for `n
    /// tasks` samples.
    template <class D, class S, class X, class W>
    void forward_batched(const S* theta, task_layout layout, const X& x, S* y, index n, index tasks, W& ws) const
        requires(detail::task_batched_layer<Branches, S, D> && ...)
    {
        for_each_branch([&]<std::size_t B>(const auto& branch) {
            auto& bws = std::get<B>(ws.branches);
            if (alone(branch)) return detail::forward_batched<D>(branch, theta, layout, x, y, n, tasks, bws);
            detail::forward_batched<D>(branch, theta, layout, x, ws.y[B].data(), n, tasks, bws);
            stack<D, B>(branch, ws.y[B].data(), y, n * tasks);
        });
    }
    template <class D, class S, class X, class W>
    void backward_batched(const S* theta, task_layout layout, const X& x, const S* dy, S* dx, S* grad, index n,
                          index tasks, W& ws) const {
        const index columns = n * tasks;
        for_each_branch([&]<std::size_t B>(const auto& branch) {
            const S* branch_dy = alone(branch) ? dy : unstack<D, B>(branch, dy, ws.dy[B].data(), columns);
            detail::backward_batched<D>(branch, theta, layout, x, branch_dy, dx ? ws.dx[B].data() : nullptr, grad, n,
                                        tasks, std::get<B>(ws.branches));
            if (dx) accumulate<D, B>(ws.dx[B].data(), dx, columns);
        });
    }
    template <class D, class S, class X, class W>
    void r_forward_batched(const S* theta, const S* v, task_layout layout, const X& x, const S* rx, S* ry, index n,
                           index tasks, W& ws) const {
        for_each_branch([&]<std::size_t B>(const auto& branch) {
            auto& bws = std::get<B>(ws.branches);
            if (alone(branch)) return detail::r_forward_batched<D>(branch, theta, v, layout, x, rx, ry, n, tasks, bws);
            detail::r_forward_batched<D>(branch, theta, v, layout, x, rx, ws.ry[B].data(), n, tasks, bws);
            stack<D, B>(branch, ws.ry[B].data(), ry, n * tasks);
        });
    }
    template <class D, class S, class X, class W>
    void r_backward_batched(const S* theta, const S* v, task_layout layout, const X& x, const S* rx, const S* dy,
                            const S* rdy, S* dx, S* rdx, S* grad, S* hv, index n, index tasks, W& ws) const {
        const index columns = n * tasks;
        for_each_branch([&]<std::size_t B>(const auto& branch) {
            const S* branch_dy = alone(branch) ? dy : unstack<D, B>(branch, dy, ws.dy[B].data(), columns);
            const S* branch_rdy = alone(branch) ? rdy : unstack<D, B>(branch, rdy, ws.rdy[B].data(), columns);
            detail::r_backward_batched<D>(branch, theta, v, layout, x, rx, branch_dy, branch_rdy,
                                          dx ? ws.dx[B].data() : nullptr, rdx ? ws.rdx[B].data() : nullptr, grad, hv, n,
                                          tasks, std::get<B>(ws.branches));
            if (dx) accumulate<D, B>(ws.dx[B].data(), dx, columns);
            if (rdx) accumulate<D, B>(ws.rdx[B].data(), rdx, columns);
        });
    }
    /// @}

private:
    template <class S, class D, std::size_t... B>
    auto make_children(index max_samples, std::index_sequence<B...>) const {
        return std::tuple<detail::workspace_t<Branches, S, D>...>{
            detail::make_workspace<S, D>(std::get<B>(branches_), max_samples)...};
    }
    // rows [first_row_[B], +branch rows) of the stacked matrix <-> the branch's own matrix
    template <class D, std::size_t B, class S>
    void stack(const auto& branch, const S* part, S* whole, index n) const {
        D::copy_block(branch.out_rows(), n, part, branch.out_rows(), whole + first_row_[B], out_rows_);
    }
    template <class D, std::size_t B, class S>
    const S* unstack(const auto& branch, const S* whole, S* part, index n) const {
        D::copy_block(branch.out_rows(), n, whole + first_row_[B], out_rows_, part, branch.out_rows());
        return part;
    }
    // the branch makes every row of the output (the others none): no copies
    bool alone(const auto& branch) const noexcept { return branch.out_rows() == out_rows_; }
    // dx = sum of the branches' input gradients
    template <class D, std::size_t B, class S>
    void accumulate(const S* part, S* total, index n) const {
        if constexpr (B == 0)
            D::copy(in_rows_ * n, part, total);
        else
            D::axpy(in_rows_ * n, S(1), part, total);
    }
    template <class F>
    void for_each_branch(F&& f) const {
        [&]<std::size_t... B>(std::index_sequence<B...>) { (f.template operator()<B>(std::get<B>(branches_)), ...); }(
            std::make_index_sequence<count>{});
    }

    std::tuple<Branches...> branches_;
    std::array<index, count> first_row_{};
};

}  // namespace metarec::nn
