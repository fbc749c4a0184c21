// metarec tests: a rank that throws ends the whole MPI job with its rank and reason instead
// of leaving the others waiting in a collective operation (ctest expects a non-zero exit
// and "rank 1: " in the output, within a time limit).
// SPDX-License-Identifier: Apache-2.0
#include <stdexcept>
#include <vector>

#include <metarec/dist/mpi.hpp>
#include <metarec/metarec.hpp>

namespace mr = metarec;

int main(int argc, char** argv) {
    return mr::dist::run(argc, argv, [&] {
        using net = mr::nn::model<mr::nn::dense<1>, double>;
        std::vector<mr::meta::task_data<double>> data;
        for (int t = 0; t < 8; ++t)
            data.emplace_back(mr::nn::batch_data<double>(2, {0.5, 1.0}, 1), std::vector<double>{1, 2},
                              mr::nn::batch_data<double>(2, {0.1, 0.2}, 1), std::vector<double>{0, 1}, t);
        const auto tasks = mr::meta::views(data);
        mr::meta::maml<net, mr::loss::mse, mr::optim::adam, mr::meta::adapt_all, mr::dist::mpi> algo{net{{.dense = 1}, 1},
                                                                                                  {.meta_batch = 4}};
        int rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        // rank 1 fails while rank 0 is already inside fit(), waiting for the partial sums
        if (rank == 1) throw std::runtime_error("the task shard could not be read");
        algo.fit(tasks, {.epochs = 1000});
    });
}
