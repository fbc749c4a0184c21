// metarec tests: data-parallel meta-training over MPI. Run under `mpiexec -n 2` (ctest does):
// after a few meta-steps the meta-parameters are bitwise identical on every rank and match a
// single-process run of the same seed (to 1e-6 relative in double: the summation order of
// the meta-gradient differs), for MAML (order 2), Reptile and fine-tuning, MAML and Reptile also
// task-batched on each rank; rank 0 alone runs
// the callbacks. A plain program: it prints what failed and exits non-zero.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <metarec/dist/mpi.hpp>
#include <metarec/metarec.hpp>

namespace mr = metarec;

namespace {

using net = mr::nn::model<mr::nn::sequential<mr::nn::dense<16>, mr::nn::tanh, mr::nn::dense<1>>, double>;

int failures = 0;
void check(bool ok, const std::string& what) {
    if (!ok) {
        ++failures;
        std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    }
}

// regression tasks y = a sin(x + b) with task-specific a, b
std::vector<mr::meta::task_data<double>> make_tasks(int count, std::uint64_t seed) {
    mr::detail::rng g(seed);
    std::vector<mr::meta::task_data<double>> out;
    for (int t = 0; t < count; ++t) {
        const double a = g.uniform(0.5, 2), b = g.uniform(0, 3);
        const auto sample = [&](int n) {
            std::vector<double> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n));
            for (int i = 0; i < n; ++i) {
                x[std::size_t(i)] = g.uniform(-3, 3);
                y[std::size_t(i)] = a * std::sin(x[std::size_t(i)] + b);
            }
            return std::pair{mr::nn::batch_data<double>(n, x, 1), y};
        };
        auto [sx, sy] = sample(5);
        auto [qx, qy] = sample(7);
        out.emplace_back(std::move(sx), sy, std::move(qx), qy, t);
    }
    return out;
}

// counts the steps a callback sees
struct step_counter {
    int* steps;
    bool on_step_end(const mr::callbacks::step_info&, const auto&) { return ++*steps, false; }
};

template <class Distributed, class Single>
void compare(const char* name, Distributed distributed, Single single, const std::vector<mr::meta::task<mr::nn::batch<double>, double>>& tasks) {
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int seen = 0;
    distributed.fit(tasks, {.epochs = 2, .max_steps = 6}, step_counter{&seen});
    single.fit(tasks, {.epochs = 2, .max_steps = 6});
    const auto a = distributed.snapshot(), b = single.snapshot();

    // bitwise identical on every rank
    std::vector<double> all(a.size() * std::size_t(size));
    MPI_Allgather(a.data(), int(a.size()), MPI_DOUBLE, all.data(), int(a.size()), MPI_DOUBLE, MPI_COMM_WORLD);
    for (int r = 1; r < size; ++r)
        check(std::memcmp(all.data(), all.data() + std::size_t(r) * a.size(), a.size() * sizeof(double)) == 0,
              std::string(name) + ": rank " + std::to_string(r) + "'s meta-parameters differ from rank 0's");
    // the same as one process
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff += (a[i] - b[i]) * (a[i] - b[i]);
        norm += b[i] * b[i];
    }
    const double relative = std::sqrt(diff / norm);
    check(relative < 1e-6, std::string(name) + ": relative difference from one process " + std::to_string(relative));
    check(single.steps() == 6 && distributed.steps() == 6, std::string(name) + ": 6 meta-steps expected");
    // the callbacks ran on rank 0 only
    check(seen == (rank == 0 ? 6 : 0), std::string(name) + ": rank " + std::to_string(rank) + " ran the callbacks " +
                                           std::to_string(seen) + " times");
    // something was learned: the parameters moved
    net fresh{{.dense = 1}, 3};
    check(std::abs(a[0] - fresh.parameters()[0]) > 1e-8, std::string(name) + ": the parameters did not move");
    if (rank == 0) std::printf("%s: %d ranks, relative difference from one process %.3g\n", name, size, relative);
}

}  // namespace

int main(int argc, char** argv) {
    return mr::dist::run(argc, argv, [&] {
        const auto data = make_tasks(40, 11);
        const auto tasks = mr::meta::views(data);
        using mr::dist::mpi;
        using mr::dist::none;
        const mr::meta::maml_options maml{.inner_lr = 0.05, .inner_steps = 2, .order = 2, .meta_batch = 7, .seed = 5};
        compare("maml order 2", mr::meta::maml<net, mr::loss::mse, mr::optim::adam, mr::meta::adapt_all, mpi>{net{{.dense = 1}, 3}, maml},
                mr::meta::maml<net, mr::loss::mse>{net{{.dense = 1}, 3}, maml}, tasks);
        compare("meta-sgd", mr::meta::meta_sgd<net, mr::loss::mse, mr::optim::adam, mr::meta::adapt_all, mpi>{net{{.dense = 1}, 3}, maml},
                mr::meta::meta_sgd<net, mr::loss::mse>{net{{.dense = 1}, 3}, maml}, tasks);
        const mr::meta::reptile_options<mr::optim::sgd> reptile{.inner = {.lr = 0.05}, .inner_steps = 3, .meta_batch = 7, .seed = 5};
        compare("reptile",
                mr::meta::reptile<net, mr::loss::mse, mr::optim::sgd, mr::optim::sgd, mr::meta::adapt_all, mpi>{net{{.dense = 1}, 3}, reptile},
                mr::meta::reptile<net, mr::loss::mse>{net{{.dense = 1}, 3}, reptile}, tasks);
        // task-batched on each rank (a rank's tasks are every second of the meta-batch), per task in one process
        auto maml_batched = maml;
        maml_batched.batching = mr::meta::task_batching::batched;
        using maml_mpi = mr::meta::maml<net, mr::loss::mse, mr::optim::adam, mr::meta::adapt_all, mpi>;
        compare("maml order 2, task-batched", maml_mpi{net{{.dense = 1}, 3}, maml_batched},
                mr::meta::maml<net, mr::loss::mse>{net{{.dense = 1}, 3}, maml}, tasks);
        auto reptile_batched = reptile;
        reptile_batched.batching = mr::meta::task_batching::batched;
        using reptile_mpi =
            mr::meta::reptile<net, mr::loss::mse, mr::optim::sgd, mr::optim::sgd, mr::meta::adapt_all, mpi>;
        compare("reptile, task-batched", reptile_mpi{net{{.dense = 1}, 3}, reptile_batched},
                mr::meta::reptile<net, mr::loss::mse>{net{{.dense = 1}, 3}, reptile}, tasks);
        const mr::meta::fine_tune_options<mr::optim::sgd> fine{.inner = {.lr = 0.05}, .meta_batch = 7, .seed = 5};
        compare("fine-tune",
                mr::meta::fine_tune<net, mr::loss::mse, mr::optim::adam, mr::optim::sgd, mr::meta::adapt_all, mpi>{net{{.dense = 1}, 3}, fine},
                mr::meta::fine_tune<net, mr::loss::mse>{net{{.dense = 1}, 3}, fine}, tasks);
        int any = 0;
        MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        if (any > 0) throw std::runtime_error(std::to_string(any) + " checks failed");
    });
}
