// metarec: how recommenders see their input: the user's features, then the item's.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../data/dataset.hpp"
#include "../data/split.hpp"
#include "../device/cpu.hpp"
#include "../io/configuration.hpp"
#include "../meta/task.hpp"
#include "../nn/batch_data.hpp"

/// @namespace metarec::recsys
/// Recommenders built on nn and meta: the feature encoder that turns interactions into
/// batches, MeLU, the two-tower model, ID-free matrix factorization with its user-side
/// adaptation policy, and the simple baselines they must beat.
namespace metarec::recsys {

/// Feature groups (nn::input_shape): towers and per-side layers read the fields of one group.
inline constexpr int user_group = 0;  //!< the user's features
inline constexpr int item_group = 1;  //!< the item's features

/// Which features the encoder puts into a batch.
struct encoder_options {
    bool user_features = true;  //!< the user's side features
    bool item_features = true;  //!< the item's side features
    bool item_id = false;       //!< the item's row as a categorical field (ID-based models: matrix factorization)
    bool user_id = false;       //!< the user's row as a categorical field (warm-only models)
};

/// Turns interactions of a data set into network inputs. Every sample is one (user, item)
/// pair; its features are laid out as
///
///     categorical: [user fields..., user id?, item fields..., item id?]   (one id each)
///     multi:       [user fields..., item fields...]                         (a bag of ids each)
///     dense rows:  [user numeric, user dense vectors, item numeric, item dense vectors]
///
/// with the groups of nn::input_shape telling user (user_group) from item (item_group)
/// features. Numeric fields are standardized with the mean and standard deviation over the
/// rows of their feature table (features, not ratings: no label leaks into test tasks).
/// The encoder refers to the data set, which must outlive it.
class feature_encoder {
public:
    //! the input shape of the fields `options` selects, and the mean and standard deviation
    //! of each numeric field; `data` must outlive the encoder. std::invalid_argument when no
    //! feature is selected
    feature_encoder(const data::dataset& data, encoder_options options = {}) : data_(&data), options_(options) {
        const auto add_side = [&](const data::feature_table& table, bool features, bool id, int group) {
            if (features) {
                for (const auto& f : table.categorical) {
                    shape_.categorical.push_back(std::max<index>(1, index(f.vocabulary.size())));
                    shape_.categorical_group.push_back(group);
                }
            }
            if (id) {
                shape_.categorical.push_back(std::max<index>(1, table.rows()));
                shape_.categorical_group.push_back(group);
            }
            if (!features) return;
            for (const auto& f : table.multi) {
                shape_.multi.push_back(std::max<index>(1, index(f.vocabulary.size())));
                shape_.multi_group.push_back(group);
            }
            for (const auto& f : table.numeric) {
                double mean = 0, square = 0;
                for (float v : f.values) mean += v;
                mean /= double(std::max<std::size_t>(1, f.values.size()));
                for (float v : f.values) square += (v - mean) * (v - mean);
                const double sd = std::sqrt(square / double(std::max<std::size_t>(1, f.values.size())));
                standardize_.push_back({mean, sd > 0 ? sd : 1.0});
                shape_.dense_group.push_back(group);
            }
            for (const auto& f : table.dense)
                for (index k = 0; k < f.dim; ++k) shape_.dense_group.push_back(group);
        };
        add_side(data.users, options.user_features, options.user_id, user_group);
        add_side(data.items, options.item_features, options.item_id, item_group);
        shape_.dense = index(shape_.dense_group.size());
        if (shape_.categorical.empty() && shape_.multi.empty() && shape_.dense == 0)
            throw std::invalid_argument("metarec: feature_encoder: no features selected (the data set has no side "
                                        "features: use an ID-based model with item_id)");
    }

    //! the input shape of the batches, for building a model
    const nn::input_shape& shape() const noexcept { return shape_; }

    /// What a model trained on these features must find again when it is served
    /// (`algorithm.save(path, encoder.configuration())`, then the same at load()): per side,
    /// each field's name, kind and a CRC-32 of its vocabulary in id order (a vocabulary of
    /// the same size in another order would silently swap embeddings), the standardization
    /// of the numeric fields, the dense widths, and the entity keys when ids are features.
    io::configuration configuration() const {
        io::configuration c;
        const auto crc_of = [](const auto& strings) {
            std::uint32_t crc = 0;
            for (const auto& s : strings) {
                crc = io::crc32(std::as_bytes(std::span(s.data(), s.size())), crc);
                crc = io::crc32(std::as_bytes(std::span("\n", 1)), crc);
            }
            char hex[9];
            std::snprintf(hex, sizeof hex, "%08x", crc);
            return std::string(hex);
        };
        std::size_t numeric = 0;
        const auto describe = [&](const char* side, const data::feature_table& table, bool features, bool id) {
            std::string fields;
            const auto add = [&](const std::string& text) { fields += (fields.empty() ? "" : ",") + text; };
            if (features) {
                for (const auto& f : table.categorical) add(f.name + ":cat/" + crc_of(f.vocabulary));
                for (const auto& f : table.multi) add(f.name + ":multi/" + crc_of(f.vocabulary));
                for (const auto& f : table.numeric) {
                    char stats[64];
                    std::snprintf(stats, sizeof stats, "%.9g/%.9g", standardize_[numeric].mean, standardize_[numeric].sd);
                    ++numeric;
                    add(f.name + ":num/" + stats);
                }
                for (const auto& f : table.dense) add(f.name + ":dense/" + std::to_string(f.dim));
            }
            if (id) add("id/" + std::to_string(table.rows()) + "/" + crc_of(table.keys));
            c.set(std::string("features.") + side, fields);
        };
        describe("user", data_->users, options_.user_features, options_.user_id);
        describe("item", data_->items, options_.item_features, options_.item_id);
        return c;
    }
    //! the data set
    const data::dataset& dataset() const noexcept { return *data_; }

    //! the features of the given interactions (indices into dataset().interactions)
    template <class S, class Device = device::cpu>
    nn::batch_data<S, Device> encode(std::span<const index> interactions) const {
        return encode_with<S, Device>(index(interactions.size()), [&](index j) {
            const auto& r = data_->interactions[std::size_t(interactions[std::size_t(j)])];
            return std::pair<index, index>{r.user, r.item};
        });
    }
    //! the features of (user, item) pairs given as feature-table rows: e.g. one user and many candidates
    template <class S, class Device = device::cpu>
    nn::batch_data<S, Device> encode_pairs(std::span<const id_type> users, std::span<const id_type> items) const {
        if (users.size() != items.size())
            throw std::invalid_argument("metarec: feature_encoder: " + std::to_string(users.size()) + " users for " +
                                        std::to_string(items.size()) + " items");
        return encode_with<S, Device>(index(users.size()), [&](index j) {
            return std::pair<index, index>{users[std::size_t(j)], items[std::size_t(j)]};
        });
    }
    //! the ratings (labels) of the given interactions
    template <class S>
    std::vector<S> targets(std::span<const index> interactions) const {
        std::vector<S> out;
        out.reserve(interactions.size());
        for (index k : interactions) out.push_back(S(data_->interactions[std::size_t(k)].rating));
        return out;
    }

    //! a task of the split as a meta::task_data (support and query features and ratings)
    template <class S, class Device = device::cpu>
    meta::task_data<S, Device> task(const data::task_split& t) const {
        return meta::task_data<S, Device>(encode<S, Device>(t.support), targets<S>(t.support), encode<S, Device>(t.query),
                                          targets<S>(t.query), t.key);
    }
    //! every task of a list
    template <class S, class Device = device::cpu>
    std::vector<meta::task_data<S, Device>> tasks(const std::vector<data::task_split>& split) const {
        std::vector<meta::task_data<S, Device>> out;
        out.reserve(split.size());
        for (const auto& t : split) out.push_back(task<S, Device>(t));
        return out;
    }

private:
    struct moments {
        double mean, sd;
    };

    template <class S, class Device, class PairOf>
    nn::batch_data<S, Device> encode_with(index n, PairOf pair_of) const {
        std::vector<std::vector<id_type>> categorical;
        std::vector<nn::host_bags> multi;
        std::vector<S> dense_values(static_cast<std::size_t>(shape_.dense * n));
        for (index j = 0; j < n; ++j) {
            const auto [user, item] = pair_of(j);
            if (user < 0 || user >= data_->users.rows() || item < 0 || item >= data_->items.rows())
                throw std::out_of_range("metarec: feature_encoder: user row " + std::to_string(user) + " or item row " +
                                        std::to_string(item) + " is outside the data set");
        }
        index row = 0, numeric = 0;
        const auto side = [&](const data::feature_table& table, bool features, bool id, bool users) {
            const auto entity = [&](index j) { return users ? pair_of(j).first : pair_of(j).second; };
            if (features)
                for (const auto& f : table.categorical) {
                    auto& ids = categorical.emplace_back(static_cast<std::size_t>(n));
                    for (index j = 0; j < n; ++j) ids[std::size_t(j)] = f.ids[std::size_t(entity(j))];
                }
            if (id) {
                auto& ids = categorical.emplace_back(static_cast<std::size_t>(n));
                for (index j = 0; j < n; ++j) ids[std::size_t(j)] = id_type(entity(j));
            }
            if (!features) return;
            for (const auto& f : table.multi) {
                auto& bags = multi.emplace_back();
                bags.offsets.push_back(0);
                for (index j = 0; j < n; ++j) {
                    const auto e = std::size_t(entity(j));
                    bags.ids.insert(bags.ids.end(), f.ids.begin() + f.offsets[e], f.ids.begin() + f.offsets[e + 1]);
                    bags.offsets.push_back(id_type(bags.ids.size()));
                }
            }
            for (const auto& f : table.numeric) {
                const auto [mean, sd] = standardize_[std::size_t(numeric++)];
                for (index j = 0; j < n; ++j)
                    dense_values[std::size_t(j * shape_.dense + row)] = S((f.values[std::size_t(entity(j))] - mean) / sd);
                ++row;
            }
            for (const auto& f : table.dense) {
                for (index j = 0; j < n; ++j)
                    for (index k = 0; k < f.dim; ++k)
                        dense_values[std::size_t(j * shape_.dense + row + k)] = S(f.values[std::size_t(entity(j) * f.dim + k)]);
                row += f.dim;
            }
        };
        side(data_->users, options_.user_features, options_.user_id, true);
        side(data_->items, options_.item_features, options_.item_id, false);
        return nn::batch_data<S, Device>(n, dense_values, shape_.dense, categorical, multi);
    }

    const data::dataset* data_;
    encoder_options options_;
    nn::input_shape shape_;
    std::vector<moments> standardize_;
};

}  // namespace metarec::recsys
