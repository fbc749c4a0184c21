// metarec: which parameters adapt in the inner loop (MAML: all; ANIL: the last layer; MeLU: the dense head).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>

#include "../config.hpp"

namespace metarec::meta {

/// A contiguous range of a learner's flat parameter vector: the adapted slice.
using metarec::parameter_range;

/// Adaptation policies. A policy is a type with
/// `static parameter_range select(const Learner&)` naming the ONE contiguous slice that the
/// inner loop adapts; everything else stays global (meta-learned, and it still receives its
/// second-order meta-gradient). Lay out your learner so that what adapts is contiguous and
/// last (nn::model: list it last). Policies other than adapt_all need the learner's
/// `slices()` (nn::model has it).

/// Full MAML: every parameter adapts.
struct adapt_all {
    //! the whole parameter vector, `{0, parameter_count()}`
    template <class Learner>
    static parameter_range select(const Learner& learner) {
        return {0, learner.parameter_count()};
    }
};

/// ANIL (almost no inner loop): only the last layer with parameters adapts.
struct adapt_last {
    //! the slice of the last layer with parameters; std::invalid_argument if there is none
    template <class Learner>
    static parameter_range select(const Learner& learner) {
        static_assert(requires { learner.slices(); },
                      "metarec: adapt_last needs a learner with slices() (e.g. nn::model)");
        const auto& slices = learner.slices();
        if (slices.empty()) throw std::invalid_argument("metarec: adapt_last: the learner has no parameters");
        return {slices.back().offset, slices.back().size};
    }
};

/// MeLU-style: the dense head adapts (the trailing run of `dense` layers of the top-level
/// chain, i.e. not inside a concat branch), embeddings and feature branches stay global.
struct adapt_dense_head {
    //! from the first to the last of the trailing top-level `dense` slices; std::invalid_argument
    //! if the last slice is not a top-level dense layer
    template <class Learner>
    static parameter_range select(const Learner& learner) {
        static_assert(requires { learner.slices(); },
                      "metarec: adapt_dense_head needs a learner with slices() (e.g. nn::model)");
        const auto& slices = learner.slices();
        auto first = slices.size();
        while (first > 0 && slices[first - 1].name == "dense" && slices[first - 1].depth == 0) --first;
        if (first == slices.size())
            throw std::invalid_argument("metarec: adapt_dense_head: the learner's last layer is not a top-level dense layer");
        const index offset = slices[first].offset;
        return {offset, slices.back().offset + slices.back().size - offset};
    }
};

}  // namespace metarec::meta
