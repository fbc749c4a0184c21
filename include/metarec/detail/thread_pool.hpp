// metarec: a small persistent thread pool for the tasks of a meta-batch.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "../config.hpp"

namespace metarec::detail {

/// Runs `work(item, thread)` for items `[0, count)`, item i on thread `i % threads` (a static
/// assignment, so which thread computes what never depends on timing). The caller is
/// thread 0; `threads - 1` workers are started once and sleep between calls. The first
/// exception thrown by any item is rethrown to the caller after every thread has finished.
class thread_pool {
public:
    explicit thread_pool(int threads = 1) : threads_(threads < 1 ? 1 : threads) {
        for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { worker(t); });
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        for (auto& w : workers_) w.join();
    }

    //! number of threads, the caller included
    int size() const noexcept { return threads_; }

    void run(index count, const std::function<void(index item, int thread)>& work) {
        if (threads_ == 1 || count <= 1) {
            for (index i = 0; i < count; ++i) work(i, 0);
            return;
        }
        {
            std::lock_guard lock(mutex_);
            work_ = &work;
            count_ = count;
            pending_ = threads_ - 1;
            error_ = nullptr;
            ++generation_;
        }
        wake_.notify_all();
        run_share(0);
        std::unique_lock lock(mutex_);
        done_.wait(lock, [&] { return pending_ == 0; });
        work_ = nullptr;
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

private:
    void run_share(int thread) {
        try {
            for (index i = thread; i < count_; i += threads_) (*work_)(i, thread);
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }
    void worker(int thread) {
        std::size_t seen = 0;
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
                if (stop_) return;
                seen = generation_;
            }
            run_share(thread);
            {
                std::lock_guard lock(mutex_);
                --pending_;
            }
            done_.notify_one();
        }
    }

    int threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(index, int)>* work_ = nullptr;
    index count_ = 0;
    int pending_ = 0;
    std::size_t generation_ = 0;
    bool stop_ = false;
    std::exception_ptr error_;
};

}  // namespace metarec::detail
