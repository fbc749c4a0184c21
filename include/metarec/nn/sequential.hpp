// metarec: a chain of layers composed from a flat type list.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <tuple>
#include <utility>

#include "layer.hpp"

namespace metarec::nn {

namespace detail {

template <class L, class D, class S>
void validate_layer(const L& layer, const batch<S>& x) {
    if constexpr (requires { layer.template validate<D>(x); }) layer.template validate<D>(x);
}

}  // namespace detail

/// Layers applied one after the other: `sequential<dense<64>, relu, dense<1>>`.
///
/// Composed with a fold over the flat list (no recursive nesting), so long chains cost
/// neither compile time nor recursion depth. Parameters of the layers follow each other
/// in the flat vector in list order: put what adapts last to keep it contiguous.
/// The workspace holds the intermediate outputs, their gradients, and their R-values.
/// @tparam Layers the layers, first to last (each follows the layer protocol, layer.hpp)
template <class... Layers>
class sequential : public layer_base {
    static_assert(sizeof...(Layers) >= 1, "metarec: sequential<> needs at least one layer");
    static constexpr std::size_t count = sizeof...(Layers);
    template <std::size_t I>
    using layer_at = std::tuple_element_t<I, std::tuple<Layers...>>;

public:
    static constexpr std::string_view name = "sequential";  //!< the layer's name (its layers name their own slices)

    //! configures the layers in order, each on the previous one's output rows, their
    //! parameters one after the other; returns the last layer's output rows
    index configure(const input_shape& source, index in_rows, index offset) {
        in_rows_ = in_rows;
        offset_ = offset;
        index rows = in_rows;
        std::apply([&](auto&... layer) { ((rows = layer.configure(source, rows, offset), offset += layer.parameter_count()), ...); },
                   layers_);
        out_rows_ = rows;
        return rows;
    }
    //! the sum over the layers
    index parameter_count() const {
        return std::apply([](const auto&... layer) { return (index{0} + ... + layer.parameter_count()); }, layers_);
    }
    //! initializes every layer
    template <class S>
    void initialize(S* theta, metarec::detail::rng& g) const {
        std::apply([&](const auto&... layer) { (layer.initialize(theta, g), ...); }, layers_);
    }
    //! the slices of every layer, at the same depth
    void collect_slices(std::vector<parameter_slice>& out, int depth) const {
        std::apply([&](const auto&... layer) { (detail::collect_slices(layer, out, depth), ...); }, layers_);
    }
    //! what each layer's gradient on `x` can touch
    template <class S>
    void touched_parameters(const batch<S>& x, std::vector<parameter_range>& out) const {
        std::apply([&](const auto&... layer) { (detail::touched_parameters(layer, x, out), ...); }, layers_);
    }
    //! lets the first layer, the only one that reads the input, check the batch
    template <class D, class S>
    void validate(const batch<S>& x) const {
        detail::validate_layer<layer_at<0>, D>(std::get<0>(layers_), x);  // only the first layer reads the input
    }
    //! the I-th layer
    template <std::size_t I>
    const layer_at<I>& layer() const noexcept {
        return std::get<I>(layers_);
    }

    /// Scratch memory of one thread: the layers' workspaces and the intermediate outputs.
    /// @tparam S scalar type
    /// @tparam D device policy
    template <class S, class D>
    struct workspace {
        std::tuple<detail::workspace_t<Layers, S, D>...> layers;  //!< the layers' own workspaces
        /// @{
        /// @brief outputs of layers 0 to count-2, their gradients, R-values and R-gradients (the last
        /// layer writes into the caller's buffer)
        std::array<typename D::template vector<S>, count - 1> y, dy, ry, rdy;
        /// @}
    };

    //! scratch memory for batches of up to max_samples samples
    template <class S, class D>
    workspace<S, D> make_workspace(index max_samples) const {
        workspace<S, D> ws{make_children<S, D>(max_samples, std::index_sequence_for<Layers...>{}), {}, {}, {}, {}};
        for_each_index([&]<std::size_t I>() {
            if constexpr (I + 1 < count) {
                const index size = std::get<I>(layers_).out_rows() * max_samples;
                for (auto* buffers : {&ws.y, &ws.dy, &ws.ry, &ws.rdy}) (*buffers)[I] = typename D::template vector<S>(size);
            }
        });
        return ws;
    }

    //! y = f_last(... f_2(f_1(x))): the layers' forward passes, first to last
    template <class D, class S, class X, class W>
    void forward(const S* theta, const X& x, S* y, index n, W& ws) const {
        for_each_index([&]<std::size_t I>() {
            std::get<I>(layers_).template forward<D>(theta, input<I>(x, ws.y), output<I>(y, ws.y), n,
                                                     std::get<I>(ws.layers));
        });
    }

    //! the layers' backward passes, last to first
    template <class D, class S, class X, class W>
    void backward(const S* theta, const X& x, const S* dy, S* dx, S* grad, index n, W& ws) const {
        for_each_index_reversed([&]<std::size_t I>() {
            std::get<I>(layers_).template backward<D>(theta, input<I>(x, ws.y), output<I>(dy, ws.dy),
                                                      input_gradient<I>(dx, ws.dy), grad, n, std::get<I>(ws.layers));
        });
    }

    //! the layers' R-forward passes, first to last
    template <class D, class S, class X, class W>
    void r_forward(const S* theta, const S* v, const X& x, const S* rx, S* ry, index n, W& ws) const {
        for_each_index([&]<std::size_t I>() {
            std::get<I>(layers_).template r_forward<D>(theta, v, input<I>(x, ws.y), input<I>(rx, ws.ry),
                                                       output<I>(ry, ws.ry), n, std::get<I>(ws.layers));
        });
    }

    //! the layers' fused backward and R-backward passes, last to first
    template <class D, class S, class X, class W>
    void r_backward(const S* theta, const S* v, const X& x, const S* rx, const S* dy, const S* rdy, S* dx, S* rdx,
                    S* grad, S* hv, index n, W& ws) const {
        for_each_index_reversed([&]<std::size_t I>() {
            std::get<I>(layers_).template r_backward<D>(
                theta, v, input<I>(x, ws.y), input<I>(rx, ws.ry), output<I>(dy, ws.dy), output<I>(rdy, ws.rdy),
                input_gradient<I>(dx, ws.dy), input_gradient<I>(rdx, ws.rdy), grad, hv, n, std::get<I>(ws.layers));
        });
    }

    /// @{
    /// @brief The task-batched passes (layer.hpp), layer by layer as above; present when
    /// every layer has them. The intermediate buffers hold the `n tasks` columns of all tasks:
    /// make the workspace for that many samples.
    template <class D, class S, class X, class W>
    void forward_batched(const S* theta, task_layout layout, const X& x, S* y, index n, index tasks, W& ws) const
        requires(detail::task_batched_layer<Layers, S, D> && ...)
    {
        for_each_index([&]<std::size_t I>() {
            detail::forward_batched<D>(std::get<I>(layers_), theta, layout, input<I>(x, ws.y), output<I>(y, ws.y), n,
                                       tasks, std::get<I>(ws.layers));
        });
    }
    template <class D, class S, class X, class W>
    void backward_batched(const S* theta, task_layout layout, const X& x, const S* dy, S* dx, S* grad, index n,
                          index tasks, W& ws) const {
        for_each_index_reversed([&]<std::size_t I>() {
            detail::backward_batched<D>(std::get<I>(layers_), theta, layout, input<I>(x, ws.y), output<I>(dy, ws.dy),
                                        input_gradient<I>(dx, ws.dy), grad, n, tasks, std::get<I>(ws.layers));
        });
    }
    template <class D, class S, class X, class W>
    void r_forward_batched(const S* theta, const S* v, task_layout layout, const X& x, const S* rx, S* ry, index n,
                           index tasks, W& ws) const {
        for_each_index([&]<std::size_t I>() {
            detail::r_forward_batched<D>(std::get<I>(layers_), theta, v, layout, input<I>(x, ws.y), input<I>(rx, ws.ry),
                                         output<I>(ry, ws.ry), n, tasks, std::get<I>(ws.layers));
        });
    }
    template <class D, class S, class X, class W>
    void r_backward_batched(const S* theta, const S* v, task_layout layout, const X& x, const S* rx, const S* dy,
                            const S* rdy, S* dx, S* rdx, S* grad, S* hv, index n, index tasks, W& ws) const {
        for_each_index_reversed([&]<std::size_t I>() {
            detail::r_backward_batched<D>(std::get<I>(layers_), theta, v, layout, input<I>(x, ws.y),
                                          input<I>(rx, ws.ry), output<I>(dy, ws.dy), output<I>(rdy, ws.rdy),
                                          input_gradient<I>(dx, ws.dy), input_gradient<I>(rdx, ws.rdy), grad, hv, n,
                                          tasks, std::get<I>(ws.layers));
        });
    }
    /// @}

    /// @{
    /// @brief The passes of a model's top-level chain (its input is data), restricted to what a
    /// meta-algorithm needs. `backward_from`: the gradient of the parameters at or above `from`
    /// only; the layers that end at or below it are skipped (their gradient is not written),
    /// and the first layer kept computes no input gradient. `r_forward_from` and
    /// `r_backward_from`: the direction `v` is zero below `v_from`, so that the layers ending
    /// at or below it have a zero R-output: their R-forward pass is skipped and the first layer
    /// above gets a null R-input. MAML's inner loop wants only the adapted slice, and its HVP
    /// direction lives there: for MeLU this skips the embeddings' backward pass (inner steps)
    /// and their R-forward pass with the first dense layer's products on a zero R-input (HVPs).
    template <class D, class S, class W>
    void backward_from(index from, const S* theta, const batch<S>& x, const S* dy, S* grad, index n, W& ws) const {
        const std::size_t first = first_layer_above(from);
        for_each_index_reversed([&]<std::size_t I>() {
            if (I < first) return;
            S* dx = I == first ? nullptr : input_gradient<I>(static_cast<S*>(nullptr), ws.dy);
            std::get<I>(layers_).template backward<D>(theta, input<I>(x, ws.y), output<I>(dy, ws.dy), dx, grad, n,
                                                      std::get<I>(ws.layers));
        });
    }
    template <class D, class S, class W>
    void r_forward_from(index v_from, const S* theta, const S* v, const batch<S>& x, S* ry, index n, W& ws) const {
        const std::size_t first = first_layer_above(v_from);
        if (first == count) {  // v is zero on every layer: R{y} = 0
            D::fill(out_rows_ * n, S(0), ry);
            return;
        }
        for_each_index([&]<std::size_t I>() {
            if (I < first) return;
            std::get<I>(layers_).template r_forward<D>(theta, v, input<I>(x, ws.y), r_input<I, S>(first, ws.ry),
                                                       output<I>(ry, ws.ry), n, std::get<I>(ws.layers));
        });
    }
    template <class D, class S, class W>
    void r_backward_from(index v_from, const S* theta, const S* v, const batch<S>& x, const S* dy, const S* rdy,
                         S* grad, S* hv, index n, W& ws) const {
        const std::size_t first = first_layer_above(v_from);
        for_each_index_reversed([&]<std::size_t I>() {
            std::get<I>(layers_).template r_backward<D>(
                theta, v, input<I>(x, ws.y), r_input<I, S>(first, ws.ry), output<I>(dy, ws.dy), output<I>(rdy, ws.rdy),
                input_gradient<I>(static_cast<S*>(nullptr), ws.dy), input_gradient<I>(static_cast<S*>(nullptr), ws.rdy),
                grad, hv, n, std::get<I>(ws.layers));
        });
    }
    /// @}

private:
    // the first layer whose parameters reach above `from` (count: none)
    std::size_t first_layer_above(index from) const {
        std::size_t first = count, i = 0;
        std::apply([&](const auto&... layer) {
            ((first = (first == count && layer.offset() + layer.parameter_count() > from) ? i : first, ++i), ...);
        }, layers_);
        return first;
    }

    // the R-input of layer I when the layers before `first` have a zero R-output
    template <std::size_t I, class S, class Buffers>
    static const S* r_input(std::size_t first, const Buffers& buffers) {
        if constexpr (I == 0)
            return nullptr;
        else
            return I <= first ? nullptr : buffers[I - 1].data();
    }

    template <class S, class D, std::size_t... I>
    auto make_children(index max_samples, std::index_sequence<I...>) const {
        return std::tuple<detail::workspace_t<Layers, S, D>...>{
            detail::make_workspace<S, D>(std::get<I>(layers_), max_samples)...};
    }

    // the input of layer I: the chain's input for the first, else the previous output
    template <std::size_t I, class X, class Buffers>
    static decltype(auto) input(const X& x, const Buffers& buffers) {
        if constexpr (I == 0)
            return (x);
        else
            return static_cast<decltype(buffers[0].data() + 0)>(buffers[I - 1].data());
    }
    // where layer I writes (or reads its output gradient from)
    template <std::size_t I, class P, class Buffers>
    static auto output(P external, Buffers& buffers) {
        if constexpr (I + 1 == count)
            return external;
        else
            return static_cast<P>(buffers[I].data());
    }
    // where layer I writes the gradient of its input: the previous layer's output gradient
    template <std::size_t I, class S, class Buffers>
    static S* input_gradient(S* external, Buffers& buffers) {
        if constexpr (I == 0)
            return external;
        else
            return buffers[I - 1].data();
    }

    template <class F>
    static void for_each_index(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (f.template operator()<I>(), ...); }(
            std::make_index_sequence<count>{});
    }
    template <class F>
    static void for_each_index_reversed(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (f.template operator()<count - 1 - I>(), ...); }(
            std::make_index_sequence<count>{});
    }

    std::tuple<Layers...> layers_;
};

}  // namespace metarec::nn
