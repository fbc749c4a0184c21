// metarec: an interaction data set with user and item side features, as every loader returns it.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "../config.hpp"

namespace metarec::data {

/// The kind of a side-feature field (schema strings: `cat`, `multi`, `num`, `dense(file.npy)`).
enum class field_kind {
    categorical,  //!< one value per row, e.g. an occupation
    multi,        //!< a set of values per row (cells `a|b|c`), e.g. genres; stored as index lists
    numeric,      //!< one number per row, e.g. a year
    dense,        //!< a vector per row from a `.npy` matrix (rows in feature-table order), e.g. a text embedding
};

/// One categorical field: the value of row r is `vocabulary[ids[r]]`.
struct categorical_field {
    std::string name;                     //!< the column name in the features file (and the schema)
    std::vector<std::string> vocabulary;  //!< distinct values in order of first appearance
    std::vector<id_type> ids;             //!< one per row
};

/// One multi-valued field: row r holds `ids[offsets[r] .. offsets[r+1])` (possibly none).
struct multi_field {
    std::string name;                     //!< the column name in the features file (and the schema)
    std::vector<std::string> vocabulary;  //!< distinct values in order of first appearance
    std::vector<id_type> offsets;  //!< rows + 1 entries, from 0
    std::vector<id_type> ids;             //!< the vocabulary ids of every row, concatenated in row order
};

/// One numeric field, one finite value per row.
struct numeric_field {
    std::string name;           //!< the column name in the features file (and the schema)
    std::vector<float> values;  //!< one per row
};

/// One dense-vector field: row r is `values[r * dim .. (r+1) * dim)`.
struct dense_field {
    std::string name;           //!< the column name in the schema
    index dim = 0;              //!< length of each row's vector (columns of the `.npy` matrix)
    std::vector<float> values;  //!< `rows x dim`, row-major
};

/// The side features of users (or of items): one row per entity, fields by kind in schema
/// order. `keys[r]` is the entity's identifier in the source files and `row(key)` finds it.
struct feature_table {
    std::vector<std::string> keys;               //!< identifier of each row's entity in the source files
    std::vector<categorical_field> categorical;  //!< categorical fields, in schema order
    std::vector<multi_field> multi;              //!< multi-valued fields, in schema order
    std::vector<numeric_field> numeric;          //!< numeric fields, in schema order
    std::vector<dense_field> dense;              //!< dense-vector fields, in schema order

    //! number of rows (entities)
    index rows() const noexcept { return index(keys.size()); }
    //! the row of an entity, or -1 if it has none
    index row(const std::string& key) const {
        const auto it = rows_.find(key);
        return it == rows_.end() ? -1 : it->second;
    }
    /// Appends an entity without features yet (the fields are filled by the loader);
    /// returns its row. A key seen before is an error of the caller (checked by loaders).
    index add(std::string key) {
        const index r = rows();
        rows_.emplace(key, r);
        keys.push_back(std::move(key));
        return r;
    }
    //! dense features per row: numeric fields plus the dimensions of the dense fields
    index dense_width() const noexcept {
        index width = index(numeric.size());
        for (const auto& f : dense) width += f.dim;
        return width;
    }

private:
    std::unordered_map<std::string, index> rows_;
};

/// One interaction: `user` and `item` are rows of the feature tables.
struct interaction {
    id_type user = 0;            //!< row of dataset::users
    id_type item = 0;            //!< row of dataset::items
    float rating = 0;            //!< a rating (e.g. 1..5) or a 0/1 label
    std::int64_t timestamp = 0;  //!< seconds, 0 when the data has none
};

/// What a loader skipped in lenient mode (strict mode throws data_error instead).
struct load_report {
    std::int64_t skipped_rows = 0;           //!< malformed rows left out
    std::vector<std::string> first_problems;  //!< the first few reasons, `file:line: reason`
};

/// An interaction data set: interactions between users and items, and their side features.
/// Every interaction's user and item have a feature row (loaders check it).
struct dataset {
    std::string name;  //!< e.g. "movielens-100k", "synthetic"
    /// @{
    /// @brief the side features of the users and of the items: one row per entity
    feature_table users, items;
    /// @}
    std::vector<interaction> interactions;  //!< in load (or generation) order
    bool has_timestamps = false;            //!< whether the interactions carry real timestamps (else every one is 0)
    /// whether the data is implicit feedback (clicks, carts, purchases: positives only, `rating`
    /// is the interaction's strength), e.g. a CSV log without a rating column
    bool implicit = false;
    load_report report;                     //!< what a lenient load skipped

    //! the mean rating over all interactions (0 if there are none)
    double mean_rating() const noexcept {
        double sum = 0;
        for (const auto& r : interactions) sum += r.rating;
        return interactions.empty() ? 0.0 : sum / double(interactions.size());
    }
};

}  // namespace metarec::data
