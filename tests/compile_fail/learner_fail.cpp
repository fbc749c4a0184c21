// expect: a learner needs backward\(theta, x, workspace, dpred, grad\)
// The learner of the skeleton of docs/concepts/learner.md without backward(): check_learner names it.
#include <metarec/concepts/learner.hpp>
#include <metarec/device/cpu.hpp>
#include <metarec/nn/batch.hpp>

struct linear_regression {
    using scalar_type = double;
    using device_type = metarec::device::cpu;
    using input_type = metarec::nn::batch<double>;
    struct workspace_type {};
    double params[2] = {0, 0};
    metarec::index parameter_count() const { return 2; }
    metarec::index output_rows() const { return 1; }
    double* parameters() { return params; }
    const double* parameters() const { return params; }
    workspace_type make_workspace(metarec::index) const { return {}; }
    void forward(const double* t, const input_type& x, workspace_type&, double* pred) const {
        for (metarec::index j = 0; j < x.size(); ++j) pred[j] = t[0] * x.dense[j] + t[1];
    }
};

static_assert(metarec::check_learner<linear_regression>());
