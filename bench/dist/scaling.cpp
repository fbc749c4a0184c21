// metarec benchmark: strong scaling of MAML meta-training over MPI ranks, with the time in
// communication reported apart. Run it under mpiexec with 1, 2, ... ranks:
//
//     mpiexec -n 1 build/release/bench/bench_mpi_scaling
//     mpiexec -n 2 build/release/bench/bench_mpi_scaling
//
// Workload: MeLU-sized (8 categorical fields of 100 values, 32-dim embeddings, head
// 256-64-64-1, the head adapts), meta-batch 32 tasks of support 10 / query 10, float,
// order 2 with K = 5 and order 1 with K = 1, one thread per rank. Prints one line per
// configuration: seconds per meta-step, communication seconds per step, tasks per second.
// SPDX-License-Identifier: Apache-2.0
#include <chrono>
#include <cstdio>
#include <vector>

#include <metarec/dist/mpi.hpp>
#include <metarec/metarec.hpp>

namespace mr = metarec;

int main(int argc, char** argv) {
    return mr::dist::run(argc, argv, [&] {
        using model = mr::recsys::melu<>;
        const mr::nn::input_shape shape{.categorical = std::vector<mr::index>(8, 100)};
        mr::detail::rng g(1);
        std::vector<mr::meta::task_data<float>> data;
        const auto batch = [&](mr::index n) {
            std::vector<std::vector<mr::id_type>> fields(8, std::vector<mr::id_type>(std::size_t(n)));
            for (auto& f : fields)
                for (auto& id : f) id = mr::id_type(g.below(100));
            return mr::nn::batch_data<float>(n, {}, 0, fields);
        };
        const auto ratings = [&](mr::index n) {
            std::vector<float> r(static_cast<std::size_t>(n));
            for (auto& x : r) x = float(1 + g.below(5));
            return r;
        };
        for (int t = 0; t < 256; ++t) data.emplace_back(batch(10), ratings(10), batch(10), ratings(10), t);
        const auto tasks = mr::meta::views(data);
        int rank = 0, ranks = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &ranks);
        for (const auto& [order, steps] : {std::pair{2, 5}, std::pair{1, 1}}) {
            mr::meta::melu_maml<model, mr::loss::mse, mr::optim::adam, mr::dist::mpi> algo{
                model(shape, 1), {.inner_lr = 0.01, .inner_steps = steps, .order = order, .meta_batch = 32, .threads = 1}};
            algo.fit(tasks, {.max_steps = 3});  // warm-up
            MPI_Barrier(MPI_COMM_WORLD);
            const double communication = algo.distribution().communication_seconds();
            const auto start = std::chrono::steady_clock::now();
            const int measured = 40;
            algo.fit(tasks, {.epochs = 10, .max_steps = measured});
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            const double comm = (algo.distribution().communication_seconds() - communication) / measured;
            if (rank == 0)
                std::printf("mpi_scaling/order:%d/steps:%d/batch:32/ranks:%d  %.3f ms/step  %.3f ms/step in communication  "
                            "%.0f tasks/s  (%td parameters)\n",
                            order, steps, ranks, 1e3 * seconds / measured, 1e3 * comm, 32.0 * measured / seconds,
                            algo.learner().parameter_count());
        }
    });
}
