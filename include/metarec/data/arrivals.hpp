// metarec: an entity that arrives after training (a new user or item), added to a feature table.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "dataset.hpp"
#include "error.hpp"

namespace metarec::data {

/// Appends an entity to `table` with its feature values given as text, `{field, value}` per
/// field of the table, as a request names a user or an item that arrived after training:
/// categorical: the value (a value not in the vocabulary is appended to it: a served model
/// encodes it to its unseen-value row, see recsys::feature_encoder); multi-valued: values
/// separated by `|` (none: an empty bag); numeric: a finite number; dense: `dim` numbers
/// separated by `|`. Returns the new row. data_error (file `origin`, e.g. "--item-features")
/// naming the field when the key exists already, a field is missing, unknown or given twice,
/// or a value does not parse; the table is unchanged then.
inline index add_entity(feature_table& table, const std::string& key,
                        const std::vector<std::pair<std::string, std::string>>& values, const std::string& origin) {
    const auto fail = [&](const std::string& reason) -> void { throw data_error(origin, 0, 0, reason); };
    if (key.empty()) fail("an empty key");
    if (table.row(key) >= 0) fail("'" + key + "' exists already");
    const auto value_of = [&](const std::string& name) -> const std::string& {
        const std::string* found = nullptr;
        for (const auto& [field, value] : values)
            if (field == name) {
                if (found) fail("field '" + name + "' is given twice");
                found = &value;
            }
        if (!found) fail("no value for field '" + name + "'");
        return *found;
    };
    for (const auto& [field, value] : values) {
        bool known = false;
        for (const auto& f : table.categorical) known = known || f.name == field;
        for (const auto& f : table.multi) known = known || f.name == field;
        for (const auto& f : table.numeric) known = known || f.name == field;
        for (const auto& f : table.dense) known = known || f.name == field;
        if (!known) fail("no field '" + field + "' in this feature table");
    }
    const auto pieces = [](const std::string& text) {
        std::vector<std::string> out;
        if (text.empty()) return out;
        for (std::size_t at = 0; at <= text.size();) {
            const std::size_t end = std::min(text.find('|', at), text.size());
            out.push_back(text.substr(at, end - at));
            at = end + 1;
        }
        return out;
    };
    const auto number = [&](const std::string& name, const std::string& text) {
        char* end = nullptr;
        const float v = std::strtof(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v))
            fail("field '" + name + "': '" + text + "' is not a finite number");
        return v;
    };
    // parse everything first, so that an error leaves the table as it was
    std::vector<std::string> categorical;
    for (const auto& f : table.categorical) categorical.push_back(value_of(f.name));
    std::vector<std::vector<std::string>> multi;
    for (const auto& f : table.multi) multi.push_back(pieces(value_of(f.name)));
    std::vector<float> numeric;
    for (const auto& f : table.numeric) numeric.push_back(number(f.name, value_of(f.name)));
    std::vector<std::vector<float>> dense;
    for (const auto& f : table.dense) {
        auto& row = dense.emplace_back();
        for (const auto& p : pieces(value_of(f.name))) row.push_back(number(f.name, p));
        if (index(row.size()) != f.dim)
            fail("field '" + f.name + "' needs " + std::to_string(f.dim) + " numbers separated by '|', got " +
                 std::to_string(row.size()));
    }
    const auto id_of = [](std::vector<std::string>& vocabulary, const std::string& value) {
        for (std::size_t k = 0; k < vocabulary.size(); ++k)
            if (vocabulary[k] == value) return id_type(k);
        vocabulary.push_back(value);
        return id_type(vocabulary.size() - 1);
    };
    for (std::size_t f = 0; f < categorical.size(); ++f)
        table.categorical[f].ids.push_back(id_of(table.categorical[f].vocabulary, categorical[f]));
    for (std::size_t f = 0; f < multi.size(); ++f) {
        auto& field = table.multi[f];
        for (const auto& v : multi[f]) field.ids.push_back(id_of(field.vocabulary, v));
        field.offsets.push_back(id_type(field.ids.size()));
    }
    for (std::size_t f = 0; f < numeric.size(); ++f) table.numeric[f].values.push_back(numeric[f]);
    for (std::size_t f = 0; f < dense.size(); ++f)
        table.dense[f].values.insert(table.dense[f].values.end(), dense[f].begin(), dense[f].end());
    return table.add(key);
}

}  // namespace metarec::data
