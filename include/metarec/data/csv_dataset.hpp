// metarec: the generic CSV format: interactions, optional user and item feature files, schemas.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "csv.hpp"
#include "dataset.hpp"
#include "feature_table_builder.hpp"
#include "implicit.hpp"
#include "npy.hpp"
#include "schema.hpp"

namespace metarec::data {

/// The files of a data set in the generic CSV format.
struct csv_files {
    std::filesystem::path interactions;  //!< header `user,item[,rating or event][,timestamp]`
    std::filesystem::path users{};       //!< optional: header `user,<field>...`
    std::filesystem::path items{};       //!< optional: header `item,<field>...`
    std::string user_schema{};           //!< kinds of the user fields (empty: every column is `cat`)
    std::string item_schema{};           //!< kinds of the item fields (empty: every column is `cat`)
    std::string events{};  //!< weights of the `event` column's values, e.g. `view:1,cart:3,purchase:5` (parse_events)
};

namespace detail {

// reads a features file into `table`; returns nothing, throws on a bad header or schema
inline void read_features(const std::filesystem::path& file, std::string_view key_name, const std::string& schema_text,
                          const std::string& schema_origin, feature_table& table, const load_options& options,
                          load_report& report) {
    delimited_reader in(file, ",");
    if (!in.next()) throw data_error(file.string(), 0, 0, "empty file (expected a header)");
    const auto header = in.fields();
    std::vector<std::string> names;
    for (index c = 0; c < index(header.size()); ++c) {
        const auto name = delimited_reader::trim(header[std::size_t(c)]);
        for (const auto& seen : names)
            if (seen == name) in.fail(c + 1, "duplicate column '" + std::string(name) + "'");
        names.emplace_back(name);
    }
    if (names.empty() || names[0] != key_name)
        in.fail(1, "the first column must be '" + std::string(key_name) + "'");
    auto schema = parse_schema(schema_text, schema_origin);
    if (schema.empty())  // no schema: every column but the key is categorical
        for (std::size_t c = 1; c < names.size(); ++c) schema.push_back({names[c], field_kind::categorical, {}, 0});
    // the column of every non-dense field
    std::vector<index> columns;
    for (const auto& f : schema) {
        if (f.kind == field_kind::dense) continue;
        if (f.name == key_name)
            throw data_error(schema_origin, 1, f.position, "'" + f.name + "' is the key column of " + file.string() + ", not a field");
        const auto it = std::find(names.begin() + 1, names.end(), f.name);
        if (it == names.end()) {
            std::string known;
            for (std::size_t c = 1; c < names.size(); ++c) known += (c > 1 ? ", " : "") + names[c];
            throw data_error(schema_origin, 1, f.position,
                             "field '" + f.name + "' is not a column of " + file.string() + " (columns: " + known + ")");
        }
        columns.push_back(index(it - names.begin()));
    }
    feature_table_builder builder(table, schema);
    std::vector<std::string_view> cells(columns.size());
    std::vector<index> positions(columns.size());
    for (std::size_t k = 0; k < columns.size(); ++k) positions[k] = columns[k] + 1;
    // the data row (0-based, after the header) of every row kept: lenient loading may skip rows,
    // and the rows of the dense fields' .npy files follow the file's data rows
    const auto skipped_before = report.skipped_rows;
    std::vector<index> kept;
    for_each_row(in, options, report, [&] {
        const index data_row = index(kept.size()) + index(report.skipped_rows - skipped_before);
        in.expect_fields(index(names.size()));
        for (std::size_t k = 0; k < columns.size(); ++k) cells[k] = in.field(columns[k]);
        builder.add(delimited_reader::trim(in.field(0)), cells, in, positions);
        kept.push_back(data_row);
    });
    if (table.rows() == 0) throw data_error(file.string(), 0, 0, "no rows");
    const index data_rows = index(kept.size()) + index(report.skipped_rows - skipped_before);
    builder.attach_dense(file.parent_path(), file.string(), [&](const std::filesystem::path& path) {
        auto m = load_npy(path);
        if (index(kept.size()) == data_rows) return m;  // nothing skipped: attach_dense checks the row count
        if (m.rows != data_rows)
            throw data_error(path.string(), 0, 0, "has " + std::to_string(m.rows) + " rows, " + file.string() + " has " +
                                                      std::to_string(data_rows) + " data rows (" +
                                                      std::to_string(data_rows - index(kept.size())) + " of them skipped)");
        matrix selected{index(kept.size()), m.cols, {}};
        selected.values.reserve(kept.size() * std::size_t(m.cols));
        for (const index r : kept)
            selected.values.insert(selected.values.end(), m.values.begin() + r * m.cols, m.values.begin() + (r + 1) * m.cols);
        return selected;
    });
}

}  // namespace detail

/// Loads a data set in the generic CSV format:
///
///  - `interactions.csv`: header `user,item,rating[,timestamp]` (explicit feedback), or an
///    interaction log without ratings (implicit feedback, `dataset::implicit`: every row is a
///    positive of strength 1): `user,item`, `user,item,timestamp`, or `user,item,event[,timestamp]`
///    with an event type per row (`view`, `cart`, `purchase`...) whose weight in
///    `csv_files::events` (e.g. `view:1,cart:3,purchase:5`) becomes the row's strength (every
///    event weighs 1 without it; an event it does not list is an error); then one interaction
///    per row (ratings and timestamps numeric and finite). Repeated interactions are kept:
///    prepare_implicit() (data/implicit.hpp) collapses or counts them;
///  - `users.csv` (optional): header `user,<field>...`, one row per user;
///  - `items.csv` (optional): header `item,<field>...`, one row per item;
///  - schemas naming the fields used and their kind (`cat`, `multi` with `|`-separated cells,
///    `num`, `dense(file.npy)` with one row per features row, path relative to the features
///    file); without a schema every column is `cat`; columns not in the schema are ignored.
///
/// With a features file, an interaction whose user (item) has no row is an error; without
/// one, users (items) are the distinct keys of the interactions, without features. Quoted
/// fields, CRLF, blank lines, a BOM and Latin-1 bytes are fine. `dataset::name` is the
/// interactions file's directory name.
inline dataset load_csv(const csv_files& files, load_options options = {}) {
    dataset out;
    out.name = files.interactions.parent_path().filename().string();
    if (out.name.empty()) out.name = "csv";
    const auto blank = [](const std::string& text) { return text.find_first_not_of(" \t\r\n") == std::string::npos; };
    if (!files.users.empty())
        detail::read_features(files.users, "user", files.user_schema, "--user-schema", out.users, options, out.report);
    else if (!blank(files.user_schema))
        throw data_error("--user-schema", 0, 0, "a user schema needs a users file");
    if (!files.items.empty())
        detail::read_features(files.items, "item", files.item_schema, "--item-schema", out.items, options, out.report);
    else if (!blank(files.item_schema))
        throw data_error("--item-schema", 0, 0, "an item schema needs an items file");
    const bool fixed_users = !files.users.empty(), fixed_items = !files.items.empty();

    delimited_reader in(files.interactions, ",");
    if (!in.next()) throw data_error(files.interactions.string(), 0, 0, "empty file (expected a header)");
    const auto header = in.fields();
    if (header.size() < 2 || header.size() > 4)
        in.fail(0, "the header must be user,item[,rating or event][,timestamp], found " + std::to_string(header.size()) +
                       " columns");
    const auto name_of = [&](std::size_t c) { return delimited_reader::trim(header[c]); };
    const auto expect = [&](std::size_t c, std::string_view wanted, const std::string& choices) {
        if (name_of(c) != wanted)
            in.fail(index(c) + 1, "column " + std::to_string(c + 1) + " must be " + choices + ", found '" +
                                      std::string(header[c]) + "'");
    };
    expect(0, "user", "'user'");
    expect(1, "item", "'item'");
    // the third column: rating (explicit feedback), event (implicit, weighted) or timestamp (implicit)
    index rating_column = -1, event_column = -1, time_column = -1;
    if (header.size() >= 3) {
        const auto third = name_of(2);
        if (third == "rating")
            rating_column = 2;
        else if (third == "event")
            event_column = 2;
        else if (third == "timestamp" && header.size() == 3)
            time_column = 2;
        else
            expect(2, "rating", header.size() == 3 ? "'rating', 'event' or 'timestamp'" : "'rating' or 'event'");
    }
    if (header.size() == 4) {
        expect(3, "timestamp", "'timestamp'");
        time_column = 3;
    }
    const auto events = parse_events(files.events, "--events");
    if (!events.empty() && event_column < 0)
        throw data_error(files.interactions.string(), 1, 0, "--events needs an 'event' column (user,item,event[,timestamp])");
    out.has_timestamps = time_column >= 0;
    out.implicit = rating_column < 0;
    std::string key;  // reused: no allocation per row, whatever the keys' length
    const auto entity = [&](feature_table& table, bool fixed, index column, const char* what) -> index {
        key.assign(delimited_reader::trim(in.field(column)));
        if (key.empty()) in.fail(column + 1, std::string("empty ") + what + " id");
        const auto row = table.row(key);
        if (row >= 0) return row;
        if (fixed) in.fail(column + 1, std::string(what) + " '" + key + "' has no row in the " + what + "s file");
        return -1;
    };
    detail::for_each_row(in, options, out.report, [&] {
        in.expect_fields(index(header.size()));
        index user = entity(out.users, fixed_users, 0, "user"), item = entity(out.items, fixed_items, 1, "item");
        double rating = 1;
        if (rating_column >= 0) rating = in.number(rating_column, "rating");
        if (event_column >= 0) {
            const auto event = delimited_reader::trim(in.field(event_column));
            if (event.empty()) in.fail(event_column + 1, "empty event");
            if (!events.empty()) {
                rating = events.weight(event);
                if (std::isnan(rating))
                    in.fail(event_column + 1, "event '" + std::string(event) + "' is not in --events (" + events.names() + ")");
            }
        }
        const std::int64_t timestamp = time_column >= 0 ? in.integer(time_column, "timestamp") : 0;
        // the row is valid: new keys become rows of feature-less tables
        if (user < 0) user = out.users.add(std::string(delimited_reader::trim(in.field(0))));
        if (item < 0) item = out.items.add(std::string(delimited_reader::trim(in.field(1))));
        out.interactions.push_back({id_type(user), id_type(item), float(rating), timestamp});
    });
    if (out.interactions.empty()) throw data_error(files.interactions.string(), 0, 0, "no interactions");
    return out;
}

}  // namespace metarec::data
