// metarec's command-line tools: range checks on numeric flags whose errors a person reads
// ("--query must be at least 1, not 0"), instead of CLI11's "Value 0 not in range 0.000000 to
// 1797693134862315708145...". Shared by metarec-coldstart, metarec-serve and the sinusoid example.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>

#include <CLI/CLI.hpp>

namespace coldstart::flags {

//! a bound as a person writes it: 1, 0.5, 1e-06
template <class T>
std::string show(T value) {
    std::ostringstream text;
    text << value;
    return text.str();
}

/// Parses the whole of `text` as a T; on failure, the reason in words ("must be a whole number,
/// not 'x'"), else empty. The range checks below and what the tools read from files use it.
template <class T>
std::string parse(const std::string& text, T& value) {
    const char* first = text.data();
    const char* last = first + text.size();
    if constexpr (std::is_integral_v<T>) {
        if (first != last && *first == '+') ++first;
        // an unsigned flag given a negative number: below its lower bound, said as such by the caller
        if constexpr (std::is_unsigned_v<T>)
            if (first != last && *first == '-') {
                long long negative = 0;
                const auto [end, error] = std::from_chars(first, last, negative);
                if (error == std::errc() && end == last) return "negative";
            }
    }
    const auto [end, error] = std::from_chars(first, last, value);
    if (error == std::errc::result_out_of_range)
        return "must be at most " + show(std::numeric_limits<T>::max()) + ", not " + text;
    if (error != std::errc() || end != last || first == last)
        return std::string(std::is_integral_v<T> ? "must be a whole number" : "must be a number") + ", not '" + text +
               "'";
    if constexpr (std::is_floating_point_v<T>)
        if (!std::isfinite(value)) return "must be a finite number, not " + text;
    return {};
}

/// A value of type T of at least `low`: "must be at least 1, not 0".
/// @tparam T the option's type (an integer or floating-point type)
/// @param low the smallest allowed value
/// @param above with true, the value must be greater than `low` ("must be greater than 0")
template <class T>
CLI::Validator at_least(T low, bool above = false) {
    const std::string bound = show(low);
    return CLI::Validator(
        [low, above, bound](std::string& text) -> std::string {
            T value{};
            const auto error = parse(text, value);
            const std::string rule = above ? "must be greater than " + bound : "must be at least " + bound;
            if (error == "negative") return rule + ", not " + text;
            if (!error.empty()) return error;
            if (above ? !(value > low) : !(value >= low)) return rule + ", not " + text;
            return {};
        },
        above ? "> " + bound : ">= " + bound);
}

/// A value of type T strictly between `low` and `high`, or from `low` (included) when
/// `include_low`: "must be greater than 0 and less than 1, not 1.5".
/// @tparam T the option's type (a floating-point type)
template <class T>
CLI::Validator between(T low, T high, bool include_low) {
    const std::string rule = (include_low ? "must be at least " : "must be greater than ") + show(low) +
                             " and less than " + show(high);
    return CLI::Validator(
        [low, high, include_low, rule](std::string& text) -> std::string {
            T value{};
            if (auto error = parse(text, value); !error.empty()) return error;
            if (!(include_low ? value >= low : value > low) || !(value < high)) return rule + ", not " + text;
            return {};
        },
        (include_low ? "[" : "(") + show(low) + ", " + show(high) + ")");
}

/// The support size: -1 (all but the query) or at least 1.
inline CLI::Validator support_size() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            long long value = 0;
            if (auto error = parse(text, value); !error.empty()) return error;
            if (value != -1 && value < 1) return "must be at least 1, or -1 (all but the query), not " + text;
            return {};
        },
        ">= 1 or -1");
}

/// The one line a person reads for a command-line error: the flag's name, then what it must be
/// ("--query must be at least 1, not 0"); CLI11's other messages as they are.
inline std::string message(const CLI::ParseError& error) {
    std::string text = error.what();
    // CLI11 writes a validator's answer as "NAME: answer"
    if (const auto colon = text.find(": must "); colon != std::string::npos && text.rfind("--", 0) == 0)
        text.erase(colon, 1);
    return text;
}

}  // namespace coldstart::flags
