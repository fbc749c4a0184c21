// metarec: the description of a model stored beside its parameters, to refuse loading into another model.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "archive.hpp"

namespace metarec::io {

/// An ordered list of `key=value` pairs describing a model (scalar type, parameter count,
/// layers, input shape, algorithm, ...). Saved as the text section "config" of an archive;
/// on load, the file's description is compared with the receiving object's, so that loading
/// into a model of another shape is an error naming the first difference, not a silent
/// reinterpretation of the numbers. Keys and values hold no newline; keys no '='.
class configuration {
public:
    //! sets `key` (replacing a previous value)
    void set(std::string_view key, std::string value) {
        for (auto& [k, v] : entries_)
            if (k == key) {
                v = std::move(value);
                return;
            }
        entries_.emplace_back(std::string(key), std::move(value));
    }
    //! the value of `key`, or null
    const std::string* find(std::string_view key) const noexcept {
        for (const auto& [k, v] : entries_)
            if (k == key) return &v;
        return nullptr;
    }
    //! the pairs, in order
    const std::vector<std::pair<std::string, std::string>>& entries() const noexcept { return entries_; }

    //! `key=value` lines
    std::string text() const {
        std::string out;
        for (const auto& [k, v] : entries_) out += k + "=" + v + "\n";
        return out;
    }

    /// Parses text() from section "config" of `a` (a data_error if malformed).
    static configuration read(const archive& a) {
        configuration c;
        const std::string text = a.get_text("config");
        std::size_t at = 0;
        while (at < text.size()) {
            const std::size_t end = text.find('\n', at);
            if (end == std::string::npos) a.fail("section 'config' does not end with a newline");
            const std::string_view line(text.data() + at, end - at);
            const std::size_t eq = line.find('=');
            if (eq == std::string_view::npos || eq == 0) a.fail("section 'config' has a line without key=value");
            c.set(line.substr(0, eq), std::string(line.substr(eq + 1)));
            at = end + 1;
        }
        return c;
    }

    /// Throws a data_error naming `a`'s file and the first key of `mine` whose value in the
    /// file's configuration differs or is missing. `what` names the receiver in the message.
    void require_same(const configuration& mine, const archive& a, std::string_view what) const {
        for (const auto& [key, value] : mine.entries_) {
            const std::string* theirs = find(key);
            if (!theirs)
                a.fail("the file does not describe '" + key + "' (it was written for something else than this " +
                       std::string(what) + ")");
            if (*theirs != value)
                a.fail("the file's " + key + " is '" + *theirs + "', this " + std::string(what) + "'s is '" + value + "'");
        }
    }

private:
    std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace metarec::io
