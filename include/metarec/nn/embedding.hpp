// metarec: embedding tables for categorical fields (one id per sample, or a bag of ids).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "layer.hpp"

namespace metarec::nn {

/// How an embedding_bag pools the rows of one sample's ids.
enum class pooling { sum, mean };

namespace detail {

// counts ids outside [0, vocabulary)
struct bad_id_kernel {
    const id_type* ids;
    index vocabulary;
    METAREC_HOST_DEVICE index operator()(index i) const { return (ids[i] < 0 || ids[i] >= vocabulary) ? 1 : 0; }
};
// counts decreasing offsets
struct bad_offset_kernel {
    const id_type* offsets;
    METAREC_HOST_DEVICE index operator()(index j) const { return offsets[j + 1] < offsets[j] ? 1 : 0; }
};

/// Throws std::invalid_argument (message prefixed by `who()`, a callable returning the
/// layer's name: built only for the message, so a valid batch allocates nothing) unless the
/// ids of one input field are usable: present, and inside [0, vocabulary); for a bag field
/// (`offsets` set), offsets that start at 0 and never decrease. One reduction per check, on
/// the device.
template <class D, class Who>
void validate_ids(const Who& who, index samples, const id_type* offsets, const id_type* ids, index vocabulary) {
    if (!ids && samples > 0) throw std::invalid_argument(who() + ": the batch has no ids for this field");
    index count = samples;
    if (offsets) {
        id_type first = 0, last = 0;
        D::to_host(1, offsets, &first);
        D::to_host(1, offsets + samples, &last);
        if (first != 0 || D::reduce(samples, bad_offset_kernel{offsets}) != 0)
            throw std::invalid_argument(who() + ": bag offsets must start at 0 and never decrease");
        count = last;
    }
    if (const index bad = D::reduce(count, bad_id_kernel{ids, vocabulary}); bad != 0)
        throw std::invalid_argument(who() + ": " + std::to_string(bad) + " id(s) outside [0, " + std::to_string(vocabulary) +
                                    ")");
}

//! uniform in [-sqrt(3/dim), sqrt(3/dim)]: unit-variance dot products of two embeddings
template <class S>
void initialize_tables(S* tables, index count, index dim, metarec::detail::rng& g) {
    const double bound = std::sqrt(3.0 / double(dim));
    for (index i = 0; i < count; ++i) tables[i] = S(g.uniform(-bound, bound));
}

//! one `dim x vocabulary` table as initialize_tables; with `unseen`, its last column (the
//! unseen-value row, input_shape::categorical_unseen) is zero and draws no random number
template <class S>
void initialize_table(S* table, index vocabulary, index dim, bool unseen, metarec::detail::rng& g) {
    const index drawn = dim * (unseen ? vocabulary - 1 : vocabulary);
    initialize_tables(table, drawn, dim, g);
    for (index i = drawn; i < dim * vocabulary; ++i) table[i] = S(0);
}

/// Embedding table `E` (`Dim x vocabulary`, column v is the vector of id v) looked up by the
/// ids of one input field, pooled per sample over `[offsets[j], offsets[j+1])`:
///
///     y_j = w_j sum_{i in bag j} E[:, id_i]       (w_j = 1, or 1/|bag j| for mean pooling)
///     backward:   grad_E[:, id_i] += w_j dy_j        (only the rows used: sparse)
///     r_forward:  ry_j = w_j sum_i V_E[:, id_i]
///     r_backward: hv_E[:, id_i] += w_j rdy_j
///
/// y is linear in E, so its second derivative is zero and R{dy} alone feeds hv (the R-passes
/// come from linear_in_parameters). Initialization: uniform in `[-sqrt(3/Dim), sqrt(3/Dim)]` (unit-variance dot products).
template <index Dim, index Field, bool Bag, pooling Pooling>
struct embedding_table : layer_base, linear_in_parameters<embedding_table<Dim, Field, Bag, Pooling>> {
    static_assert(Dim >= 1, "metarec: an embedding needs Dim >= 1");
    static_assert(Field >= 0, "metarec: an embedding's field index must be >= 0");
    static constexpr std::string_view name = Bag ? "embedding_bag" : "embedding";

    index configure(const input_shape& source, index in_rows, index offset) {
        const auto& fields = Bag ? source.multi : source.categorical;
        if (Field >= index(fields.size()))
            throw std::invalid_argument(describe() + ": the input has only " + std::to_string(fields.size()) + " " +
                                        (Bag ? "multi-valued" : "categorical") + " field(s)");
        vocabulary_ = fields[std::size_t(Field)];
        unseen_ = !Bag && has_unseen_row(source, Field);
        if (vocabulary_ <= 0) throw std::invalid_argument(describe() + ": the field's vocabulary is empty");
        in_rows_ = in_rows;
        out_rows_ = Dim;
        offset_ = offset;
        return Dim;
    }
    index parameter_count() const noexcept { return Dim * vocabulary_; }
    //! number of rows of the table (distinct ids)
    index vocabulary() const noexcept { return vocabulary_; }

    template <class S>
    void initialize(S* theta, metarec::detail::rng& g) const {
        initialize_table(theta + offset_, vocabulary_, Dim, unseen_, g);
    }

    /// Throws std::invalid_argument if an id is outside the vocabulary or bag offsets decrease.
    template <class D, class S>
    void validate(const batch<S>& x) const {
        const auto [offsets, ids] = field(x);
        if (Bag && !offsets) throw std::invalid_argument(describe() + ": the batch has no bag offsets for this field");
        validate_ids<D>([] { return describe(); }, x.size(), offsets, ids, vocabulary_);
    }

    //! the table columns of the batch's ids (the gradient is zero elsewhere)
    template <class S>
    void touched_parameters(const batch<S>& x, std::vector<parameter_range>& out) const {
        const auto [offsets, ids] = field(x);
        touched_columns(Dim, x.size(), offsets, ids, offset_, out);
    }

    template <class D, class S, class X>
    void forward(const S* theta, const X& x, S* y, index n, auto&) const {
        const auto [offsets, ids] = field(x);
        D::gather_sum(Dim, n, offsets, ids, Pooling == pooling::mean, theta + offset_, y, Dim);
    }
    template <class D, class S, class X>
    void backward(const S*, const X& x, const S* dy, S*, S* grad, index n, auto&) const {
        if (!grad) return;
        const auto [offsets, ids] = field(x);
        D::scatter_add(Dim, n, offsets, ids, Pooling == pooling::mean, dy, Dim, grad + offset_);
    }

    /// @{
    /// @brief The task-batched passes (layer.hpp): task t looks its samples up in its own
    /// table, `theta + t layout.stride + offset()`; one gather or scatter kernel for all tasks.
    template <class D, class S, class X>
    void forward_batched(const S* theta, task_layout layout, const X& x, S* y, index n, index tasks, auto&) const {
        const auto [offsets, ids] = field(x);
        D::gather_sum_batched(Dim, n, tasks, offsets, ids, Pooling == pooling::mean, theta + offset_, layout.stride, y,
                              Dim);
    }
    template <class D, class S, class X>
    void backward_batched(const S*, task_layout layout, const X& x, const S* dy, S*, S* grad, index n, index tasks,
                          auto&) const {
        if (!grad) return;
        const auto [offsets, ids] = field(x);
        D::scatter_add_batched(Dim, n, tasks, offsets, ids, Pooling == pooling::mean, dy, Dim, grad + offset_,
                               layout.stride);
    }
    /// @}

private:
    template <class X>
    static auto field(const X& x) {
        static_assert(!std::is_pointer_v<X>,
                      "metarec: an embedding reads ids from the network input: use it as the first layer "
                      "of a model or of a concat branch");
        struct ids_of { const id_type* offsets; const id_type* ids; };
        if constexpr (Bag) {
            const auto& f = x.multi[std::size_t(Field)];
            return ids_of{f.offsets, f.ids};
        } else
            return ids_of{nullptr, x.categorical[std::size_t(Field)]};
    }
    static std::string describe() {
        return std::string("metarec: ") + std::string(name) + "<" + std::to_string(Dim) + ", field " +
               std::to_string(Field) + ">";
    }
    index vocabulary_ = 0;
    bool unseen_ = false;  // the last row is the unseen-value row
};

}  // namespace detail

/// Embedding of a single-valued categorical field: sample j gets column `id_j` of a
/// `Dim x vocabulary` table. Reads `batch::categorical[Field]`; the vocabulary comes from
/// `input_shape::categorical[Field]`. Gradients touch only the rows used.
/// @tparam Dim   embedding dimension
/// @tparam Field index of the categorical field in the input
template <index Dim, index Field = 0>
using embedding = detail::embedding_table<Dim, Field, false, pooling::sum>;

/// Embedding of a multi-valued field (genres, actors): sample j gets the sum or mean of the
/// columns of its bag of ids (an empty bag gives zeros). Reads `batch::multi[Field]`.
/// @tparam Dim     embedding dimension
/// @tparam Field   index of the multi-valued field in the input
/// @tparam Pooling pooling::mean (default) or pooling::sum
template <index Dim, index Field = 0, pooling Pooling = pooling::mean>
using embedding_bag = detail::embedding_table<Dim, Field, true, Pooling>;

}  // namespace metarec::nn
