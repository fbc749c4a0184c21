// metarec: one embedding table per input field, the field count known only at run time.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "embedding.hpp"
#include "layer.hpp"

namespace metarec::nn {

/// Embeds every categorical field of the input (or of one feature group, see
/// input_shape): one `Dim x vocabulary` table per field, the single-valued fields first,
/// then the multi-valued ones (pooled per sample), outputs stacked:
/// `y = [E_1[:, id_1]; ...; E_c[:, id_c]; pool(M_1[:, bag_1]); ...]`, `Dim` rows each.
///
/// This is the feature layer of MeLU-style recommenders, whose fields come from a data
/// schema at run time (gender, age, occupation, zip; genres, director, actors...). With a
/// compile-time field list, `concat<embedding<Dim, 0>, ..., embedding_bag<Dim, 0>, ...>`
/// computes the same. Derivatives as embedding (linear in the tables, sparse gradients; the
/// R-passes come from detail::linear_in_parameters).
/// Parameters: the tables in field order, each column-major.
/// @tparam Dim     embedding dimension of every field
/// @tparam Pooling pooling of the multi-valued fields (pooling::mean by default)
/// @tparam Group   embed only the fields of this feature group (all_groups: every field);
///                 a two-tower model's user tower reads `recsys::user_group`
template <index Dim, pooling Pooling = pooling::mean, int Group = all_groups>
struct field_embeddings : layer_base, detail::linear_in_parameters<field_embeddings<Dim, Pooling, Group>> {
    static_assert(Dim >= 1, "metarec: field_embeddings needs Dim >= 1");
    static constexpr std::string_view name = "field_embeddings";  //!< the layer's name (its slices are named "embedding", one per table)

    //! one table per field of Group (std::invalid_argument if there is none or a vocabulary is
    //! empty); returns Dim * the number of fields
    index configure(const input_shape& source, index in_rows, index offset) {
        vocabularies_.clear();
        unseen_.clear();
        fields_.clear();
        categorical_ = 0;
        for (int bag = 0; bag < 2; ++bag) {
            const auto& fields = bag ? source.multi : source.categorical;
            for (index f = 0; f < index(fields.size()); ++f) {
                if (Group != all_groups && group_of(bag ? source.multi_group : source.categorical_group, f) != Group) continue;
                if (fields[std::size_t(f)] <= 0)
                    throw std::invalid_argument("metarec: field_embeddings: a field has an empty vocabulary");
                vocabularies_.push_back(fields[std::size_t(f)]);
                unseen_.push_back(!bag && has_unseen_row(source, f));
                fields_.push_back(f);
                categorical_ += !bag;
            }
        }
        if (vocabularies_.empty())
            throw std::invalid_argument(Group == all_groups ? std::string("metarec: field_embeddings: the input has no categorical field")
                                                            : "metarec: field_embeddings: the input has no categorical field in group " +
                                                                  std::to_string(Group));
        categorical_fields_ = index(source.categorical.size());
        multi_fields_ = index(source.multi.size());
        in_rows_ = in_rows;
        offset_ = offset;
        out_rows_ = Dim * index(vocabularies_.size());
        return out_rows_;
    }
    //! Dim * the sum of the fields' vocabularies
    index parameter_count() const noexcept {
        index count = 0;
        for (index v : vocabularies_) count += Dim * v;
        return count;
    }

    //! one slice per field table, so that they can be told apart
    void collect_slices(std::vector<parameter_slice>& out, int depth) const {
        index offset = offset_;
        for (index v : vocabularies_) {
            out.push_back({"embedding", offset, Dim * v, depth});
            offset += Dim * v;
        }
    }

    //! uniform in [-sqrt(3/Dim), sqrt(3/Dim)], as embedding; unseen-value rows zero
    template <class S>
    void initialize(S* theta, metarec::detail::rng& g) const {
        index offset = offset_;
        for (std::size_t t = 0; t < vocabularies_.size(); ++t) {
            detail::initialize_table(theta + offset, vocabularies_[t], Dim, unseen_[t], g);
            offset += Dim * vocabularies_[t];
        }
    }

    //! std::invalid_argument unless every id is inside its field's vocabulary and every
    //! multi-valued field has bag offsets that start at 0 and never decrease
    template <class D, class S>
    void validate(const batch<S>& x) const {
        for_each_field(x, [&](index f, const id_type* offsets, const id_type* ids, index) {
            if (f >= categorical_ && !offsets)
                throw std::invalid_argument(describe(f) + ": the batch has no bag offsets for this field");
            detail::validate_ids<D>([&] { return describe(f); }, x.size(), offsets, ids, vocabularies_[std::size_t(f)]);
        });
    }

    //! the table columns of the batch's ids (the gradient is zero elsewhere)
    template <class S>
    void touched_parameters(const batch<S>& x, std::vector<parameter_range>& out) const {
        for_each_field(x, [&](index, const id_type* offsets, const id_type* ids, index table) {
            detail::touched_columns(Dim, x.size(), offsets, ids, table, out);
        });
    }

    //! y = [E_1[:, id_1]; ...; pool(M_1[:, bag_1]); ...]
    template <class D, class S, class X>
    void forward(const S* theta, const X& x, S* y, index n, auto&) const {
        for_each_field(x, [&](index f, const id_type* offsets, const id_type* ids, index table) {
            D::gather_sum(Dim, n, offsets, ids, Pooling == pooling::mean, theta + table, y + f * Dim, out_rows_);
        });
    }
    //! scatters dy into the table columns of the ids (sparse); no input gradient (x is data)
    template <class D, class S, class X>
    void backward(const S*, const X& x, const S* dy, S*, S* grad, index n, auto&) const {
        if (!grad) return;
        for_each_field(x, [&](index f, const id_type* offsets, const id_type* ids, index table) {
            D::scatter_add(Dim, n, offsets, ids, Pooling == pooling::mean, dy + f * Dim, out_rows_, grad + table);
        });
    }

    /// @{
    /// @brief The task-batched passes (layer.hpp): task t looks its samples up in its own
    /// tables, `theta + t layout.stride`; per field one gather or scatter kernel for all tasks.
    template <class D, class S, class X>
    void forward_batched(const S* theta, task_layout layout, const X& x, S* y, index n, index tasks, auto&) const {
        for_each_field(x, [&](index f, const id_type* offsets, const id_type* ids, index table) {
            D::gather_sum_batched(Dim, n, tasks, offsets, ids, Pooling == pooling::mean, theta + table, layout.stride,
                                  y + f * Dim, out_rows_);
        });
    }
    template <class D, class S, class X>
    void backward_batched(const S*, task_layout layout, const X& x, const S* dy, S*, S* grad, index n, index tasks,
                          auto&) const {
        if (!grad) return;
        for_each_field(x, [&](index f, const id_type* offsets, const id_type* ids, index table) {
            D::scatter_add_batched(Dim, n, tasks, offsets, ids, Pooling == pooling::mean, dy + f * Dim, out_rows_,
                                   grad + table, layout.stride);
        });
    }
    /// @}

private:
    // calls f(field, bag offsets or null, ids, offset of the field's table) for every field
    template <class S, class F>
    void for_each_field(const batch<S>& x, F&& f) const {
        if (index(x.categorical.size()) != categorical_fields_ || index(x.multi.size()) != multi_fields_)
            throw std::invalid_argument("metarec: field_embeddings: the batch has " + std::to_string(x.categorical.size()) +
                                        " categorical and " + std::to_string(x.multi.size()) +
                                        " multi-valued fields, the layer was built for " + std::to_string(categorical_fields_) +
                                        " and " + std::to_string(multi_fields_));
        index offset = offset_;
        for (index field = 0; field < index(vocabularies_.size()); ++field) {
            const bool bag = field >= categorical_;
            const auto source = std::size_t(fields_[std::size_t(field)]);
            const auto* offsets = bag ? x.multi[source].offsets : nullptr;
            const auto* ids = bag ? x.multi[source].ids : x.categorical[source];
            f(field, offsets, ids, offset);
            offset += Dim * vocabularies_[std::size_t(field)];
        }
    }
    template <class S, class F>
    void for_each_field(const S*, F&&) const {
        static_assert(sizeof(S) == 0,
                      "metarec: field_embeddings reads ids from the network input: use it as the first layer "
                      "of a model or of a concat branch");
    }
    std::string describe(index field) const {
        const auto source = std::to_string(fields_[std::size_t(field)]);
        return "metarec: field_embeddings<" + std::to_string(Dim) + ">, " +
               (field < categorical_ ? "categorical field " + source : "multi-valued field " + source);
    }

    std::vector<index> vocabularies_;  // of the embedded fields: categorical first, then multi-valued
    std::vector<bool> unseen_;         // whether each table's last row is the unseen-value row
    std::vector<index> fields_;        // their indices in the batch's categorical / multi lists
    index categorical_ = 0;            // embedded single-valued fields
    index categorical_fields_ = 0, multi_fields_ = 0;  // fields of the input
};

}  // namespace metarec::nn
