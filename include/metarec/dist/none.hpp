// metarec: the default distribution policy: one process.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "../config.hpp"

/// @namespace metarec::dist
/// Distribution policies of the meta-algorithms: one process (dist::none) or data-parallel
/// meta-training over MPI (dist::mpi, component metarec::mpi).
namespace metarec::dist {

/// One process does all the work (the default of every meta-algorithm).
///
/// The distribution policy protocol, what a meta-algorithm asks of `Distribution`:
///
///     static constexpr bool distributed;     // false: every call below is skipped
///     int rank() const;  int size() const;   // this process and how many there are
///     void sum(S* host_values, index n);     // in place: the sum over processes, identical on every rank
///     bool broadcast(bool flag);             // the root's (rank 0's) flag, on every rank
///     void broadcast(S* host_values, index n);  // the root's values, on every rank
///
/// Each rank computes the tasks `i` of a meta-batch with `i mod size == rank`, sums their
/// meta-gradients in task order, and `sum` adds the ranks' partial sums; the outer step
/// then runs identically everywhere. See docs/distributed.md.
struct none {
    static constexpr bool distributed = false;  //!< false: meta-algorithms skip every call below
    //! this process: always 0
    int rank() const noexcept { return 0; }
    //! the number of processes: always 1
    int size() const noexcept { return 1; }
    //! the sum over one process: leaves the values as they are
    template <class S>
    void sum(S*, index) const noexcept {}
    //! the root's flag: `flag` itself
    bool broadcast(bool flag) const noexcept { return flag; }
    //! the root's values: leaves them as they are
    template <class S>
    void broadcast(S*, index) const noexcept {}
};

}  // namespace metarec::dist
