// metarec: schema strings naming the kind of every side-feature field.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataset.hpp"
#include "error.hpp"

namespace metarec::data {

namespace detail {

/// `s` without its leading and trailing blanks (space, tab, line ends); `offset` grows by the
/// number of leading blanks removed, so that a column counted in `s` stays one of the whole
/// text. Shared by the `name:value,...` parsers (schemas, event weights).
inline std::string_view trim_blanks(std::string_view s, std::size_t& offset) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && blank(s.front())) {
        s.remove_prefix(1);
        ++offset;
    }
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace detail

/// One field of a schema: its column name, kind, and (dense fields) the `.npy` file.
struct field_spec {
    std::string name;                           //!< the column name
    field_kind kind = field_kind::categorical;  //!< how the column's cells are read
    std::string source;  //!< dense: the .npy file, relative to the features file's directory
    std::int64_t position = 0;  //!< 1-based character position of the name in the schema string (0: not from one)
};

/// Parses a schema string: comma-separated `name:kind` with kind one of `cat`, `multi`,
/// `num` or `dense(file.npy)`, e.g.
/// `genre:multi,director:cat,actors:multi,year:num,text:dense(items_text.npy)`. Spaces around
/// tokens are ignored; a blank string has no fields. Errors (an unknown kind, an empty or
/// duplicate name, a missing `:`, `dense` without its file, an unbalanced parenthesis, an
/// empty entry as in `a:cat,,b:num`) are data_error with `origin` as the file (e.g. "--item-schema"),
/// line 1 and the 1-based character position as the column.
inline std::vector<field_spec> parse_schema(std::string_view text, const std::string& origin) {
    std::vector<field_spec> out;
    const auto fail = [&](std::size_t at, const std::string& reason) -> void {
        throw data_error(origin, 1, std::int64_t(at) + 1, reason);
    };
    {
        std::size_t ignored = 0;
        if (detail::trim_blanks(text, ignored).empty()) return out;  // no fields
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        // the end of this entry: the next comma outside parentheses
        std::size_t end = start;
        int depth = 0;
        std::size_t open_at = start;
        for (; end < text.size() && !(text[end] == ',' && depth == 0); ++end) {
            if (text[end] == '(' && depth++ == 0) open_at = end;
            if (text[end] == ')' && --depth < 0) fail(end, "unbalanced ')'");
        }
        if (depth != 0) fail(open_at, "unbalanced '(' in '" + std::string(text.substr(start, end - start)) + "'");
        std::size_t at = start;
        const auto entry = detail::trim_blanks(text.substr(start, end - start), at);
        if (entry.empty()) fail(at, "empty field entry");
        const auto colon = entry.find(':');
        if (colon == std::string_view::npos) fail(at, "'" + std::string(entry) + "' has no ':kind' (cat, multi, num, dense(file.npy))");
        std::size_t name_at = at, kind_at = at + colon + 1;
        const auto name = detail::trim_blanks(entry.substr(0, colon), name_at);
        const auto kind = detail::trim_blanks(entry.substr(colon + 1), kind_at);
        if (name.empty()) fail(at, "empty field name");
        for (const auto& f : out)
            if (f.name == name) fail(name_at, "duplicate field '" + std::string(name) + "'");
        field_spec spec{std::string(name), field_kind::categorical, {}, std::int64_t(name_at) + 1};
        if (kind == "cat") {
            spec.kind = field_kind::categorical;
        } else if (kind == "multi") {
            spec.kind = field_kind::multi;
        } else if (kind == "num") {
            spec.kind = field_kind::numeric;
        } else if (std::size_t ignored = 0;
                   kind.starts_with("dense") && (kind.size() == 5 || detail::trim_blanks(kind.substr(5), ignored).starts_with('('))) {
            const auto rest = detail::trim_blanks(kind.substr(5), ignored);
            if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')')
                fail(kind_at, "dense needs its file: dense(file.npy)");
            std::size_t file_at = kind_at;
            const auto file = detail::trim_blanks(rest.substr(1, rest.size() - 2), file_at);
            if (file.empty() || file.find_first_of("()") != std::string_view::npos)
                fail(kind_at, "dense needs its file: dense(file.npy)");
            spec.kind = field_kind::dense;
            spec.source = std::string(file);
        } else {
            fail(kind_at, "unknown kind '" + std::string(kind) + "' of field '" + std::string(name) +
                              "' (expected cat, multi, num or dense(file.npy))");
        }
        out.push_back(std::move(spec));
        start = end + 1;
    }
    return out;
}

}  // namespace metarec::data
