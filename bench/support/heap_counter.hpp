// metarec benchmarks: counting the heap. Every malloc/calloc/realloc/free of the process
// (operator new and Eigen's aligned allocations both end there) is interposed over glibc's
// allocator, so a benchmark can report peak bytes and the number of allocations.
// Include it in exactly one translation unit of a benchmark executable (it defines malloc).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstddef>

#include <malloc.h>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);
}

namespace metarec::bench {

//! bytes allocated and not yet freed, their peak, and the number of allocations so far
inline std::atomic<std::size_t> live_bytes{0}, peak_bytes{0}, allocations{0};

namespace detail {
inline void* counted(void* p) {
    if (p) {
        allocations.fetch_add(1, std::memory_order_relaxed);
        const auto now = live_bytes.fetch_add(malloc_usable_size(p)) + malloc_usable_size(p);
        for (auto peak = peak_bytes.load(); now > peak && !peak_bytes.compare_exchange_weak(peak, now);) {}
    }
    return p;
}
inline void uncount(void* p) {
    if (p) live_bytes.fetch_sub(malloc_usable_size(p));
}
}  // namespace detail

}  // namespace metarec::bench

extern "C" {
void* malloc(std::size_t size) { return metarec::bench::detail::counted(__libc_malloc(size)); }
void* calloc(std::size_t n, std::size_t size) { return metarec::bench::detail::counted(__libc_calloc(n, size)); }
void* realloc(void* p, std::size_t size) {
    metarec::bench::detail::uncount(p);
    return metarec::bench::detail::counted(__libc_realloc(p, size));
}
void free(void* p) {
    metarec::bench::detail::uncount(p);
    __libc_free(p);
}
}
