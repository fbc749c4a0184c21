// metarec: a few-shot task (support set + query set) and owning task storage.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../device/fwd.hpp"
#include "../nn/batch_data.hpp"

namespace metarec::meta {

/// One task: adapt on the support set, be judged on the query set. A non-owning view (the
/// storage must outlive it); targets are laid out as the loss expects (see
/// docs/concepts/loss_function.md) and live in the learner's device memory.
/// @tparam Input the learner's input type (nn::batch<S> for nn::model)
/// @tparam S     scalar type
template <class Input, class S>
struct task {
    Input support{};                    //!< the samples to adapt on
    const S* support_target = nullptr;  //!< their targets (device memory)
    Input query{};                      //!< the samples the adapted learner is judged on
    const S* query_target = nullptr;    //!< their targets (device memory)
    std::int64_t key = -1;  //!< what the task is about: a user id, an item id, a scenario; -1 if none
};

/// Owns a task made of nn::batch inputs (features and targets in device memory).
/// @tparam S      scalar type
/// @tparam Device where the data lives
template <class S, class Device = device::cpu>
class task_data {
public:
    /// @param support        support features
    /// @param support_target support targets (host), `rows x support.size()` for the loss used
    /// @param query          query features
    /// @param query_target   query targets (host)
    /// @param key            the task's key (-1: none)
    task_data(nn::batch_data<S, Device> support, const std::vector<S>& support_target, nn::batch_data<S, Device> query,
              const std::vector<S>& query_target, std::int64_t key = -1)
        : support_(std::move(support)), query_(std::move(query)), key_(key) {
        if (support_.size() == 0) throw std::invalid_argument("metarec: a task needs a non-empty support set");
        if (query_.size() == 0) throw std::invalid_argument("metarec: a task needs a non-empty query set");
        support_target_ = upload(support_target);
        query_target_ = upload(query_target);
    }

    //! the view that meta-algorithms read
    task<nn::batch<S>, S> view() const noexcept {
        return {support_.view(), target_data(support_target_), query_.view(), target_data(query_target_), key_};
    }

private:
    using vector = typename Device::template vector<S>;
    static vector upload(const std::vector<S>& host) {
        vector v(index(host.size()));
        Device::to_device(index(host.size()), host.data(), v.data());
        return v;
    }
    static const S* target_data(const vector& v) noexcept { return v.size() ? v.data() : nullptr; }

    nn::batch_data<S, Device> support_, query_;
    vector support_target_, query_target_;
    std::int64_t key_;
};

//! views of owned tasks, for fit() and evaluate()
template <class S, class Device>
std::vector<task<nn::batch<S>, S>> views(const std::vector<task_data<S, Device>>& tasks) {
    std::vector<task<nn::batch<S>, S>> out;
    out.reserve(tasks.size());
    for (const auto& t : tasks) out.push_back(t.view());
    return out;
}

}  // namespace metarec::meta
