// metarec: fills a feature table row by row from text cells, checking every cell first.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <cmath>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "csv.hpp"
#include "dataset.hpp"
#include "schema.hpp"

namespace metarec::data {

/// Builds a feature_table from rows of text cells, one cell per non-dense schema field:
/// categorical values and `|`-separated multi-valued cells are interned into vocabularies
/// (ids in order of first appearance; an empty cell is the value "" for a categorical field
/// and an empty set for a multi-valued one), numeric cells must be finite numbers. A row is
/// checked completely before anything is added, so that a rejected row (lenient loading)
/// leaves the table as it was. Dense fields are attached afterwards (attach_dense).
class feature_table_builder {
public:
    /// Adds an empty field to `table` for every non-dense field of `schema`, in schema order.
    /// @param table  the table to fill; it must outlive the builder
    /// @param schema the fields of the rows, as parsed by parse_schema()
    feature_table_builder(feature_table& table, std::vector<field_spec> schema) : table_(&table), schema_(std::move(schema)) {
        for (const auto& f : schema_) {
            switch (f.kind) {
                case field_kind::categorical: table.categorical.push_back({f.name, {}, {}}); break;
                case field_kind::multi: table.multi.push_back({f.name, {}, {0}, {}}); break;
                case field_kind::numeric: table.numeric.push_back({f.name, {}}); break;
                case field_kind::dense: break;
            }
        }
        categorical_ids_.resize(table.categorical.size());
        multi_ids_.resize(table.multi.size());
    }

    //! the schema
    const std::vector<field_spec>& schema() const noexcept { return schema_; }

    /// Adds the entity `key` (column 1 of `in`'s current row) with one cell per non-dense
    /// schema field (in schema order); `columns[i]` is cell i's 1-based column in that row,
    /// for error messages.
    void add(std::string_view key, std::span<const std::string_view> cells, const delimited_reader& in,
             std::span<const index> columns) {
        if (key.empty()) in.fail(1, "empty id");
        if (table_->row(std::string(key)) >= 0) in.fail(0, "duplicate row for id '" + std::string(key) + "'");
        numbers_.clear();
        std::size_t c = 0;
        for (const auto& f : schema_) {
            if (f.kind == field_kind::dense) continue;
            if (f.kind == field_kind::numeric) {
                const auto text = delimited_reader::trim(cells[c]);
                double value = 0;
                const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
                if (text.empty() || error != std::errc{} || end != text.data() + text.size() || !std::isfinite(value))
                    in.fail(columns[c], "numeric field '" + f.name + "': '" + std::string(text) + "' is not a finite number");
                numbers_.push_back(value);
            }
            ++c;
        }
        // the row is valid: commit
        table_->add(std::string(key));
        std::size_t categorical = 0, multi = 0, numeric = 0;
        c = 0;
        for (const auto& f : schema_) {
            if (f.kind == field_kind::dense) continue;
            const auto cell = cells[c++];
            if (f.kind == field_kind::categorical) {
                auto& field = table_->categorical[categorical];
                field.ids.push_back(detail::intern(field.vocabulary, categorical_ids_[categorical], delimited_reader::trim(cell)));
                ++categorical;
            } else if (f.kind == field_kind::multi) {
                auto& field = table_->multi[multi];
                const auto begin = field.ids.size();
                for (std::size_t start = 0; start <= cell.size();) {
                    const auto bar = std::min(cell.find('|', start), cell.size());
                    const auto value = delimited_reader::trim(cell.substr(start, bar - start));
                    if (!value.empty()) {
                        const auto id = detail::intern(field.vocabulary, multi_ids_[multi], value);
                        if (std::find(field.ids.begin() + std::ptrdiff_t(begin), field.ids.end(), id) == field.ids.end())
                            field.ids.push_back(id);
                    }
                    start = bar + 1;
                }
                field.offsets.push_back(id_type(field.ids.size()));
                ++multi;
            } else {
                table_->numeric[numeric].values.push_back(float(numbers_[numeric]));
                ++numeric;
            }
        }
    }

    /// Attaches the dense fields, read from their `.npy` files (relative to `directory`): one
    /// row per table row, in table order.
    template <class Load>
    void attach_dense(const std::filesystem::path& directory, const std::string& features_file, Load&& load) {
        for (const auto& f : schema_) {
            if (f.kind != field_kind::dense) continue;
            const auto path = std::filesystem::path(f.source).is_absolute() ? std::filesystem::path(f.source) : directory / f.source;
            const auto m = load(path);
            if (m.rows != table_->rows())
                throw data_error(path.string(), 0, 0, "dense field '" + f.name + "' has " + std::to_string(m.rows) + " rows, " +
                                                      features_file + " has " + std::to_string(table_->rows()));
            table_->dense.push_back({f.name, m.cols, m.values});
        }
    }

private:
    feature_table* table_;
    std::vector<field_spec> schema_;
    std::vector<std::unordered_map<std::string, id_type>> categorical_ids_, multi_ids_;
    std::vector<double> numbers_;
};

}  // namespace metarec::data
