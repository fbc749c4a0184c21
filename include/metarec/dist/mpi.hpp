// metarec: data-parallel meta-training over MPI (component metarec::mpi).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <mpi.h>

#include "../config.hpp"
#include "none.hpp"

namespace metarec::dist {

namespace detail {
template <class S>
MPI_Datatype datatype() {
    if constexpr (std::is_same_v<S, float>) return MPI_FLOAT;
    else if constexpr (std::is_same_v<S, double>) return MPI_DOUBLE;
    else static_assert(sizeof(S) == 0, "metarec: dist::mpi sums float or double");
}
inline void check(int code, const char* what) {
    if (code != MPI_SUCCESS) throw std::runtime_error(std::string("metarec: dist::mpi: ") + what + " failed");
}
}  // namespace detail

/// Spreads every meta-batch over the processes of an MPI communicator: rank r computes the
/// tasks `i` with `i mod size == r`, and one reduction of the flat meta-gradient (plus the
/// loss and weight) gives every rank the same sum, on which the outer optimizer steps
/// identically. The sum is a reduction to rank 0 followed by a broadcast, so every rank
/// holds bitwise the same result (an all-reduce may round differently per rank). Rank 0
/// alone runs the callbacks of fit() (progress bar, logs, early stopping); its decision to
/// stop and, at the end, its meta-parameters are broadcast.
///
/// MPI must be initialized (dist::run does it). Sizes above 2^31 values are split.
/// @code
/// int main(int argc, char** argv) {
///     return metarec::dist::run(argc, argv, [&] {
///         metarec::meta::maml<net, metarec::loss::mse, metarec::optim::adam, metarec::meta::adapt_all,
///                             metarec::dist::mpi> algo{...};
///         algo.fit(tasks, {.epochs = 10});            // under mpirun -np N
///     });
/// }
/// @endcode
class mpi {
public:
    static constexpr bool distributed = true;  //!< true: meta-algorithms split their meta-batches over the ranks

    /// @param comm the communicator (MPI_COMM_WORLD by default; MPI_COMM_SELF: one process)
    explicit mpi(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {}

    //! this process's rank in the communicator (0 is the root); throws std::logic_error if MPI is not initialized
    int rank() const {
        require_init();
        int r = 0;
        detail::check(MPI_Comm_rank(comm_, &r), "MPI_Comm_rank");
        return r;
    }
    //! the number of processes in the communicator; throws std::logic_error if MPI is not initialized
    int size() const {
        require_init();
        int s = 1;
        detail::check(MPI_Comm_size(comm_, &s), "MPI_Comm_size");
        return s;
    }
    //! the communicator
    MPI_Comm communicator() const noexcept { return comm_; }

    //! wall seconds spent in sum() and broadcast() so far (communication, for scaling reports)
    double communication_seconds() const noexcept { return *seconds_; }

    /// In place, the sum over the ranks of `values` (n float or double values in host
    /// memory), bitwise identical on every rank: MPI_Reduce to rank 0, then broadcast.
    /// Collective: every rank must call it.
    template <class S>
    void sum(S* values, index n) const {
        const timer t(*seconds_);
        const bool root = rank() == 0;
        for (index done = 0; done < n; done += chunk) {
            const int count = int(std::min<index>(chunk, n - done));
            detail::check(MPI_Reduce(root ? MPI_IN_PLACE : values + done, values + done, count, detail::datatype<S>(),
                                     MPI_SUM, 0, comm_),
                          "MPI_Reduce");
        }
        broadcast(values, n);
    }
    //! the root's (rank 0's) flag, returned on every rank (collective)
    bool broadcast(bool flag) const {
        const timer t(*seconds_);
        int value = flag ? 1 : 0;
        detail::check(MPI_Bcast(&value, 1, MPI_INT, 0, comm_), "MPI_Bcast");
        return value != 0;
    }
    //! overwrites `values` (n values in host memory) with the root's on every rank (collective)
    template <class S>
    void broadcast(S* values, index n) const {
        const timer t(*seconds_);
        for (index done = 0; done < n; done += chunk)
            detail::check(MPI_Bcast(values + done, int(std::min<index>(chunk, n - done)), detail::datatype<S>(), 0, comm_),
                          "MPI_Bcast");
    }

private:
    static constexpr index chunk = index(1) << 30;
    // adds the wall time of its scope to a counter (nested scopes count once: sum calls broadcast)
    struct timer {
        explicit timer(double& total) : total_(total), start_(MPI_Wtime()) { ++depth(); }
        ~timer() {
            if (--depth() == 0) total_ += MPI_Wtime() - start_;
        }
        timer(const timer&) = delete;
        timer& operator=(const timer&) = delete;
        static int& depth() {
            thread_local int d = 0;
            return d;
        }
        double& total_;
        double start_;
    };
    static void require_init() {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized) throw std::logic_error("metarec: dist::mpi needs MPI to be initialized (use dist::run)");
    }
    MPI_Comm comm_;
    std::shared_ptr<double> seconds_ = std::make_shared<double>(0.0);  // shared by copies of the policy
};

/// Runs `body` between MPI_Init and MPI_Finalize. If it throws on any rank, that rank
/// prints `metarec: rank R: reason` and aborts the whole job (MPI_Abort, exit code 1), so
/// that the other ranks do not wait forever in a collective operation. Returns 0.
template <class F>
int run(int& argc, char**& argv, F&& body) {
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        std::fprintf(stderr, "metarec: MPI_Init failed\n");
        return 1;
    }
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    try {
        body();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "metarec: rank %d: %s\n", rank, e.what());
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    } catch (...) {
        std::fprintf(stderr, "metarec: rank %d: unknown exception\n", rank);
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Finalize();
    return 0;
}

}  // namespace metarec::dist
