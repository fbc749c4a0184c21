// metarec tests: the message of the exception a piece of code throws.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace metarec::test {

/// The message (`what()`) of the exception of type E that `f()` throws, or "" when it throws
/// none; an exception of another type propagates (doctest reports it).
/// @tparam E  the exception type expected (data_error, std::invalid_argument, ...)
template <class E, class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "";
}

}  // namespace metarec::test
