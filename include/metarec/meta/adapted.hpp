// metarec: a learner with its own adapted parameters (fast weights), what adapt() returns.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "../config.hpp"

namespace metarec::meta {

template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
class algorithm;

/// A learner with its own adapted parameters ("fast weights"): what adapt() returns. The
/// meta-learned parameters are untouched; the object owns a copy and a workspace, and the
/// adapting algorithm's workspace, so that `algorithm.adapt(support, target, personal)`
/// re-adapts it to the next request without allocating. The copy is stamped with the
/// version of the meta-parameters it was taken from (version(), algorithm::version()):
/// re-adapting at the same version copies only the adapted slice from the model (MeLU: the
/// head's 20,673 of 458,401 parameters), at another the whole vector, so a model changed
/// since is never mixed with an older one. predict() serves the parameters of the last
/// adaptation: after the model changed, those of the older model until the next adapt().
/// @tparam Learner the learner type
template <class Learner>
class adapted {
public:
    using scalar_type = typename Learner::scalar_type;                       //!< the learner's scalar
    using device_type = typename Learner::device_type;                       //!< the learner's device policy
    using input_type = typename Learner::input_type;                         //!< what the learner reads (a batch)
    using vector_type = typename device_type::template vector<scalar_type>;  //!< a device buffer

    //! the learner (by reference: it must outlive this object) with its adapted parameters
    adapted(const Learner& learner, vector_type parameters)
        : learner_(&learner), params_(std::move(parameters)), ws_(learner.make_workspace(1)) {}

    //! predictions for a batch, `learner().output_rows() x x.size()` (device memory)
    void predict(const input_type& x, scalar_type* pred) { learner_->forward(params_.data(), x, ws_, pred); }

    //! predictions for a batch, copied to the host
    std::vector<scalar_type> predict(const input_type& x) {
        vector_type out(learner_->output_rows() * x.size());
        predict(x, out.data());
        std::vector<scalar_type> host(std::size_t(out.size()));
        device_type::to_host(index(out.size()), out.data(), host.data());
        return host;
    }

    //! the adapted parameters (device memory)
    const scalar_type* parameters() const noexcept { return params_.data(); }
    //! the learner
    const Learner& learner() const noexcept { return *learner_; }
    //! the version of the meta-parameters this object was adapted from (algorithm::version())
    std::uint64_t version() const noexcept { return version_; }

private:
    template <class, class, class, class, class>
    friend class algorithm;  // adapt() writes the parameters and keeps its workspace

    const Learner* learner_;
    vector_type params_;
    typename Learner::workspace_type ws_;
    std::any scratch_;  // the adapting algorithm's workspace (meta::workspace), kept between requests
    std::uint64_t version_ = 0;  // of the meta-parameters outside the adapted slice of params_
};

}  // namespace metarec::meta
