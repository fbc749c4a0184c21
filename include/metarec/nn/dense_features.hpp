// metarec: the dense (numeric) input rows of one feature group, passed on as they are.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>

#include "layer.hpp"

namespace metarec::nn {

/// Passes on the rows of the input's dense features that belong to `Group` (all of them by
/// default): `y = x.dense[rows of Group, :]`. No parameters; the input is data, so the
/// derivatives are zero (backward and R-passes write nothing but R{y} = 0). It may output no
/// rows at all (an input without such features), which a concat branch allows. The group's
/// rows must be contiguous (recsys::feature_encoder lays the user's rows, then the item's).
/// A first layer: use it in a concat branch next to `field_embeddings`, e.g. MeLU's
/// `concat<field_embeddings<32>, dense_features<>>`.
/// @tparam Group the feature group (input_shape::dense_group), or all_groups
template <int Group = all_groups>
struct dense_features : layer_base, detail::same_for_every_task<dense_features<Group>> {
    static constexpr std::string_view name = "dense_features";  //!< the layer's name (it has no parameters)

    //! finds the rows of Group among the input's dense rows (std::invalid_argument if they are
    //! not contiguous); returns their count
    index configure(const input_shape& source, index in_rows, index offset) {
        first_ = -1;
        index count = 0;
        for (index r = 0; r < source.dense; ++r) {
            if (Group != all_groups && group_of(source.dense_group, r) != Group) continue;
            if (first_ >= 0 && r != first_ + count)
                throw std::invalid_argument("metarec: dense_features<" + std::to_string(Group) +
                                            ">: the dense rows of the group are not contiguous");
            if (first_ < 0) first_ = r;
            ++count;
        }
        if (first_ < 0) first_ = 0;
        in_rows_ = in_rows;
        offset_ = offset;
        out_rows_ = count;
        return count;
    }
    //! 0: no parameters
    index parameter_count() const noexcept { return 0; }
    //! nothing to initialize
    template <class S>
    void initialize(S*, metarec::detail::rng&) const {}

    //! y = x.dense[rows of Group, :]
    template <class D, class S>
    void forward(const S*, const batch<S>& x, S* y, index n, auto&) const {
        if (out_rows_ > 0) D::copy_block(out_rows_, n, x.dense + first_, x.dense_dim, y, out_rows_);
    }
    //! nothing to do: no parameters, and the input is data
    template <class D, class S>
    void backward(const S*, const batch<S>&, const S*, S*, S*, index, auto&) const {}
    //! ry = 0
    template <class D, class S>
    void r_forward(const S*, const S*, const batch<S>&, const S*, S* ry, index n, auto&) const {
        D::fill(out_rows_ * n, S(0), ry);
    }
    //! nothing to do: no parameters, and the input is data
    template <class D, class S>
    void r_backward(const S*, const S*, const batch<S>&, const S*, const S*, const S*, S*, S*, S*, S*, index, auto&) const {}

    /// @{
    /// @brief not the first layer: a compile-time error with a sentence (the other passes are never
    /// instantiated)
    template <class D, class S>
    void forward(const S*, const S*, S*, index, auto&) const {
        static_assert(sizeof(S) == 0, "metarec: dense_features reads the network input: use it as the first layer "
                                      "of a model or of a concat branch");
    }
    template <class D, class S>
    void backward(const S*, const S*, const S*, S*, S*, index, auto&) const {}
    template <class D, class S>
    void r_forward(const S*, const S*, const S*, const S*, S*, index, auto&) const {}
    template <class D, class S>
    void r_backward(const S*, const S*, const S*, const S*, const S*, const S*, S*, S*, S*, S*, index, auto&) const {}
    /// @}

private:
    index first_ = 0;
};

}  // namespace metarec::nn
