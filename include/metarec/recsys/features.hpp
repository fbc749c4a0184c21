// metarec: how recommenders see their input: the user's features, then the item's.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
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
inline constexpr int pair_group = 2;  //!< inputs of a (user, item) pair in its task (encoder_options::pair_inputs)

/// Which features the encoder puts into a batch.
struct encoder_options {
    bool user_features = true;  //!< the user's side features
    bool item_features = true;  //!< the item's side features
    bool item_id = false;       //!< the item's row as a categorical field (ID-based models: matrix factorization)
    bool user_id = false;       //!< the user's row as a categorical field (warm-only models)
    /// dense inputs per (user, item) pair that depend on the pair's task, not on the user or
    /// the item alone (e.g. recsys::baseline_inputs), the last dense rows (pair_group); then
    /// only encode_pairs() with the values encodes
    index pair_inputs = 0;
};

/// Turns interactions of a data set into network inputs. Every sample is one (user, item)
/// pair; its features are laid out as
///
///     categorical: [user fields..., user id?, item fields..., item id?]   (one id each)
///     multi:       [user fields..., item fields...]                         (a bag of ids each)
///     dense rows:  [user numeric, user dense vectors, item numeric, item dense vectors, pair inputs]
///
/// with the groups of nn::input_shape telling user (user_group) from item (item_group)
/// features. Numeric fields are standardized with the mean and standard deviation over the
/// rows of their feature table (features, not ratings: no label leaks into test tasks).
///
/// **Newcomers.** Every single-valued field (and every id) has one more row than its
/// vocabulary: the unseen-value row (nn::input_shape::categorical_unseen), zero at
/// initialization and never trained, which is where a value or an id that arrives after
/// training is looked up: the model then sees "no information" for that field (zero is the
/// mean of the tables' initial distribution), its other fields as usual. An unseen value in a
/// multi-valued field is left out of the bag (the known values still count). One row per
/// field rather than hashed buckets: buckets would share rows between values seen in training
/// (collisions change trained predictions), and a value that arrives later has no trained row
/// to hash to anyway. The serving constructor (from a saved model's configuration()) maps the
/// data's values onto the training vocabularies and standardizes numeric fields with the
/// training statistics, so a data set that has grown since training encodes into the inputs
/// the saved model expects.
/// The encoder refers to the data set, which must outlive it.
class feature_encoder {
public:
    //! the input shape of the fields `options` selects (the vocabularies and statistics of
    //! `data`); `data` must outlive the encoder. std::invalid_argument when no feature is selected
    feature_encoder(const data::dataset& data, encoder_options options = {}) : data_(&data), options_(options) {
        const auto trained = [&](const data::feature_table& table, bool features, bool id) {
            side_code side;
            if (features) {
                for (const auto& f : table.categorical)
                    side.categorical.push_back({f.vocabulary, {}, id_type(f.vocabulary.size()), {}});
                for (const auto& f : table.multi) side.multi.push_back({f.vocabulary, {}, -1, {}});
                for (const auto& f : table.numeric) side.numeric.push_back(moments_of(f.values));
            }
            if (id) side.id = {table.keys, {}, id_type(table.keys.size()), {}};
            return side;
        };
        user_ = trained(data.users, options.user_features, options.user_id);
        item_ = trained(data.items, options.item_features, options.item_id);
        build_shape();
    }

    /// The encoder of a split's models: as above, and what the split keeps out of training is
    /// looked up in the unseen-value rows, as a model that never met it serves it: the ids of
    /// its new users and items (when ids are features) and the values it holds out
    /// (data::make_new_values_split: split::held_field, split::held_values; configuration()
    /// records those, so that a saved model serves them the same way).
    feature_encoder(const data::dataset& data, encoder_options options, const data::split& split)
        : feature_encoder(data, options) {
        // ids as features: the split's new users (items) have rows no training interaction
        // reaches; they are looked up in the unseen-value row, as at serving time
        const auto hide_new = [](field_code& id, const std::vector<char>& is_new) {
            if (std::find(is_new.begin(), is_new.end(), 1) == is_new.end()) return;
            id.remap.resize(id.vocabulary.size());
            for (std::size_t r = 0; r < id.remap.size(); ++r)
                id.remap[r] = r < is_new.size() && is_new[r] ? id.unseen : id_type(r);
        };
        if (options.user_id) hide_new(user_.id, split.new_user);
        if (options.item_id) hide_new(item_.id, split.new_item);
        if (split.held_field.empty()) return;
        // the field make_new_values_split holds out: the first of that name, users' first
        for (auto* side : {&user_, &item_}) {
            const bool users = side == &user_;
            const auto& table = users ? data.users : data.items;
            for (std::size_t f = 0; f < table.categorical.size(); ++f) {
                if (table.categorical[f].name != split.held_field) continue;
                if (!(users ? options.user_features : options.item_features)) return;  // not a feature of the model
                auto& code = side->categorical[f];
                code.remap.resize(code.vocabulary.size());
                for (std::size_t v = 0; v < code.remap.size(); ++v) code.remap[v] = id_type(v);
                for (const id_type v : split.held_values) code.remap.at(std::size_t(v)) = code.unseen;
                code.hidden = split.held_values;
                return;
            }
        }
    }

    /// The encoder of a saved model (its `io::configuration`, as `configuration()` wrote it)
    /// over `data`, which may have grown since training: new users, items and category values
    /// are encoded to the unseen-value rows, numeric fields standardized with the training
    /// statistics. `options` must select what the model was trained with. std::invalid_argument
    /// (one line naming both) when the data's fields (names, kinds, dense widths) or the
    /// selected features differ from the model's, or the configuration has no feature description.
    feature_encoder(const data::dataset& data, const io::configuration& trained, encoder_options options = {})
        : data_(&data), options_(options) {
        user_ = from_model(data.users, trained, "user", options.user_features, options.user_id);
        item_ = from_model(data.items, trained, "item", options.item_features, options.item_id);
        build_shape();
    }

    //! the input shape of the batches, for building a model
    const nn::input_shape& shape() const noexcept { return shape_; }

    /// What a model trained on these features must find again when it is served
    /// (`algorithm.save(path, encoder.configuration())`, then the same at load()): per side
    /// (`features.user`, `features.item`), each field's name, kind and a CRC-32 of its
    /// vocabulary in id order (a vocabulary of the same size in another order would silently
    /// swap embeddings), the standardization of the numeric fields, the dense widths, and the
    /// entity keys when ids are features; and the vocabularies themselves
    /// (`vocabulary.SIDE.FIELD`, `keys.SIDE`), from which the serving constructor maps values
    /// that arrived later, and the values held out of training (`unseen.SIDE.FIELD`, the
    /// split constructor's), which it also looks up in the unseen-value row.
    io::configuration configuration() const {
        io::configuration c;
        const auto describe = [&](const char* side, const data::feature_table& table, const side_code& code,
                                  bool features, bool id) {
            std::string fields;
            const auto add = [&](const std::string& text) { fields += (fields.empty() ? "" : ",") + text; };
            const std::string prefix = std::string("vocabulary.") + side + ".";
            if (features) {
                for (std::size_t f = 0; f < table.categorical.size(); ++f) {
                    add(table.categorical[f].name + ":cat/" + crc_of(code.categorical[f].vocabulary));
                    c.set(prefix + table.categorical[f].name, join(code.categorical[f].vocabulary));
                    if (!code.categorical[f].hidden.empty()) {
                        std::string ids;
                        for (const id_type v : code.categorical[f].hidden)
                            ids += (ids.empty() ? "" : ",") + std::to_string(v);
                        c.set("unseen." + std::string(side) + "." + table.categorical[f].name, ids);
                    }
                }
                for (std::size_t f = 0; f < table.multi.size(); ++f) {
                    add(table.multi[f].name + ":multi/" + crc_of(code.multi[f].vocabulary));
                    c.set(prefix + table.multi[f].name, join(code.multi[f].vocabulary));
                }
                for (std::size_t f = 0; f < table.numeric.size(); ++f) {
                    char stats[64];
                    std::snprintf(stats, sizeof stats, "%.17g/%.17g", code.numeric[f].mean, code.numeric[f].sd);
                    add(table.numeric[f].name + ":num/" + stats);
                }
                for (const auto& f : table.dense) add(f.name + ":dense/" + std::to_string(f.dim));
            }
            if (id) {
                add("id/" + std::to_string(code.id.vocabulary.size()) + "/" + crc_of(code.id.vocabulary));
                c.set(std::string("keys.") + side, join(code.id.vocabulary));
            }
            c.set(std::string("features.") + side, fields);
        };
        describe("user", data_->users, user_, options_.user_features, options_.user_id);
        describe("item", data_->items, item_, options_.item_features, options_.item_id);
        // the descriptions first, as require_same reports the first difference
        io::configuration ordered;
        for (const auto& [key, value] : c.entries())
            if (key.starts_with("features.")) ordered.set(key, value);
        for (const auto& [key, value] : c.entries())
            if (!key.starts_with("features.")) ordered.set(key, value);
        return ordered;
    }
    //! the data set
    const data::dataset& dataset() const noexcept { return *data_; }
    //! dense inputs per pair that encode_pairs() takes (encoder_options::pair_inputs)
    index pair_inputs() const noexcept { return options_.pair_inputs; }

    //! the features of the given interactions (indices into dataset().interactions)
    template <class S, class Device = device::cpu>
    nn::batch_data<S, Device> encode(std::span<const index> interactions) const {
        require_no_pair_inputs();
        return encode_with<S, Device>(index(interactions.size()), [&](index j) {
            const auto& r = data_->interactions[std::size_t(interactions[std::size_t(j)])];
            return std::pair<index, index>{r.user, r.item};
        });
    }
    //! the features of (user, item) pairs given as feature-table rows: e.g. one user and many candidates
    template <class S, class Device = device::cpu>
    nn::batch_data<S, Device> encode_pairs(std::span<const id_type> users, std::span<const id_type> items) const {
        require_no_pair_inputs();
        return encode_pairs<S, Device>(users, items, {});
    }
    //! the same with the pairs' encoder_options::pair_inputs values, pair after pair
    template <class S, class Device = device::cpu>
    nn::batch_data<S, Device> encode_pairs(std::span<const id_type> users, std::span<const id_type> items,
                                           std::span<const float> pair_values) const {
        if (users.size() != items.size())
            throw std::invalid_argument("metarec: feature_encoder: " + std::to_string(users.size()) + " users for " +
                                        std::to_string(items.size()) + " items");
        if (pair_values.size() != users.size() * std::size_t(options_.pair_inputs))
            throw std::invalid_argument("metarec: feature_encoder: " + std::to_string(pair_values.size()) +
                                        " pair inputs for " + std::to_string(users.size()) + " pairs of " +
                                        std::to_string(options_.pair_inputs));
        return encode_with<S, Device>(
            index(users.size()),
            [&](index j) { return std::pair<index, index>{users[std::size_t(j)], items[std::size_t(j)]}; },
            pair_values);
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
    void require_no_pair_inputs() const {
        if (options_.pair_inputs > 0)
            throw std::invalid_argument("metarec: feature_encoder: the encoder has pair inputs: encode_pairs() with "
                                        "their values");
    }
    // one categorical or multi-valued field, or the ids of one side, as the model knows it
    struct field_code {
        std::vector<std::string> vocabulary;  // the model's values (keys), in id order
        std::vector<id_type> remap;           // the data's id -> the model's (unseen: `unseen`); empty: the same
        id_type unseen = -1;                  // where a value unknown to the model goes (-1: left out)
        std::vector<id_type> hidden;          // vocabulary ids the model never trained (held out): to `unseen`
        //! the model's id of the data's id `v`
        id_type map(id_type v) const noexcept { return remap.empty() ? v : remap[std::size_t(v)]; }
    };
    struct side_code {
        std::vector<field_code> categorical, multi;
        field_code id;
        std::vector<moments> numeric;
    };

    static moments moments_of(const std::vector<float>& values) {
        double mean = 0, square = 0;
        for (float v : values) mean += v;
        mean /= double(std::max<std::size_t>(1, values.size()));
        for (float v : values) square += (v - mean) * (v - mean);
        const double sd = std::sqrt(square / double(std::max<std::size_t>(1, values.size())));
        return {mean, sd > 0 ? sd : 1.0};
    }
    static std::string crc_of(const std::vector<std::string>& strings) {
        std::uint32_t crc = 0;
        for (const auto& s : strings) {
            crc = io::crc32(std::as_bytes(std::span(s.data(), s.size())), crc);
            crc = io::crc32(std::as_bytes(std::span("\n", 1)), crc);
        }
        char hex[9];
        std::snprintf(hex, sizeof hex, "%08x", crc);
        return std::string(hex);
    }
    // "COUNT:" then the values joined by ',', with '\\', ',' and newlines escaped
    static std::string join(const std::vector<std::string>& values) {
        std::string out = std::to_string(values.size()) + ":";
        for (std::size_t k = 0; k < values.size(); ++k) {
            if (k) out += ',';
            for (char ch : values[k]) {
                if (ch == '\\' || ch == ',') out += '\\';
                if (ch == '\n') {
                    out += "\\n";
                    continue;
                }
                out += ch;
            }
        }
        return out;
    }
    static std::vector<std::string> split(const std::string& text, const std::string& what) {
        const auto bad = [&] {
            return std::invalid_argument("metarec: feature_encoder: the model's " + what + " is malformed");
        };
        const std::size_t colon = text.find(':');
        if (colon == std::string::npos) throw bad();
        std::size_t count = 0;
        try {
            count = std::stoul(text.substr(0, colon));
        } catch (const std::exception&) {
            throw bad();
        }
        std::vector<std::string> out;
        if (count == 0) return text.size() == colon + 1 ? out : throw bad();
        out.emplace_back();
        for (std::size_t at = colon + 1; at < text.size(); ++at) {
            if (text[at] == ',') {
                out.emplace_back();
            } else if (text[at] == '\\') {
                if (++at == text.size()) throw bad();
                out.back() += text[at] == 'n' ? '\n' : text[at];
            } else {
                out.back() += text[at];
            }
        }
        if (out.size() != count) throw bad();
        return out;
    }
    // the data's ids -> the model's vocabulary's
    static field_code mapped(std::vector<std::string> vocabulary, const std::vector<std::string>& data,
                             id_type unseen) {
        std::unordered_map<std::string, id_type> known;
        for (std::size_t k = 0; k < vocabulary.size(); ++k) known.emplace(vocabulary[k], id_type(k));
        field_code code{std::move(vocabulary), {}, unseen, {}};
        code.remap.reserve(data.size());
        for (const auto& value : data) {
            const auto it = known.find(value);
            code.remap.push_back(it == known.end() ? unseen : it->second);
        }
        return code;
    }

    // one side as a saved model's configuration describes it
    static side_code from_model(const data::feature_table& table, const io::configuration& trained, const char* side,
                                bool features, bool id) {
        const std::string key = std::string("features.") + side;
        const std::string* described = trained.find(key);
        if (!described)
            throw std::invalid_argument("metarec: feature_encoder: the model's configuration has no '" + key +
                                        "' (not saved with a feature_encoder's configuration())");
        // the schema as the data and options give it, and as the model recorded it
        std::string ours, theirs;
        const auto add = [](std::string& to, const std::string& text) { to += (to.empty() ? "" : ",") + text; };
        if (features) {
            for (const auto& f : table.categorical) add(ours, f.name + ":cat");
            for (const auto& f : table.multi) add(ours, f.name + ":multi");
            for (const auto& f : table.numeric) add(ours, f.name + ":num");
            for (const auto& f : table.dense) add(ours, f.name + ":dense/" + std::to_string(f.dim));
        }
        if (id) add(ours, "id");
        std::vector<std::string> entries;
        for (std::size_t at = 0; !described->empty() && at <= described->size();) {
            const std::size_t end = std::min(described->find(',', at), described->size());
            entries.push_back(described->substr(at, end - at));
            at = end + 1;
        }
        for (const auto& e : entries) {
            if (e.starts_with("id/")) {
                add(theirs, "id");
                continue;
            }
            const std::size_t slash = e.find('/');
            add(theirs, e.find(":dense/") != std::string::npos ? e : e.substr(0, slash));
        }
        if (ours != theirs)
            throw std::invalid_argument(std::string("metarec: feature_encoder: the model was trained on ") + side +
                                        " features '" + theirs + "', the data and options give '" + ours + "'");
        const auto vocabulary = [&](const std::string& name) {
            const std::string* text = trained.find(name);
            if (!text)
                throw std::invalid_argument("metarec: feature_encoder: the model's configuration has no '" + name +
                                            "' (saved by a version that cannot serve new values: save it again)");
            return split(*text, name);
        };
        side_code code;
        const std::string prefix = std::string("vocabulary.") + side + ".";
        std::size_t entry = 0;
        if (features) {
            for (const auto& f : table.categorical) {
                auto values = vocabulary(prefix + f.name);
                const auto unseen = id_type(values.size());
                auto field = mapped(std::move(values), f.vocabulary, unseen);
                // values held out of training (a new-values split): their rows were never trained
                if (const std::string* hidden = trained.find("unseen." + std::string(side) + "." + f.name)) {
                    for (std::size_t at = 0; at <= hidden->size();) {
                        const std::size_t end = std::min(hidden->find(',', at), hidden->size());
                        id_type v = -1;
                        try {
                            v = id_type(std::stol(hidden->substr(at, end - at)));
                        } catch (const std::exception&) {
                            v = -1;
                        }
                        if (v < 0 || v >= unseen)
                            throw std::invalid_argument("metarec: feature_encoder: the model's unseen." +
                                                        std::string(side) + "." + f.name + " is malformed: '" +
                                                        *hidden + "'");
                        field.hidden.push_back(v);
                        at = end + 1;
                    }
                    for (auto& m : field.remap)
                        if (std::find(field.hidden.begin(), field.hidden.end(), m) != field.hidden.end()) m = unseen;
                }
                code.categorical.push_back(std::move(field));
                ++entry;
            }
            for (const auto& f : table.multi) {
                code.multi.push_back(mapped(vocabulary(prefix + f.name), f.vocabulary, -1));
                ++entry;
            }
            for (const auto& f : table.numeric) {
                const std::string& e = entries[entry++];
                const std::string stats = e.substr(e.find(":num/") + 5);
                const std::size_t slash = stats.find('/');
                char* end = nullptr;
                const double mean = std::strtod(stats.c_str(), &end);
                const double sd = slash == std::string::npos ? 0.0 : std::strtod(stats.c_str() + slash + 1, nullptr);
                if (slash == std::string::npos || end != stats.c_str() + slash || !std::isfinite(mean) || !(sd > 0) ||
                    !std::isfinite(sd))
                    throw std::invalid_argument("metarec: feature_encoder: the model's standardization of " +
                                                std::string(side) + " field '" + f.name + "' is malformed: '" + stats +
                                                "'");
                code.numeric.push_back({mean, sd});
            }
        }
        if (id) {
            auto keys = vocabulary(std::string("keys.") + side);
            const auto unseen = id_type(keys.size());
            code.id = mapped(std::move(keys), table.keys, unseen);
        }
        return code;
    }

    void build_shape() {
        const auto add_side = [&](const data::feature_table& table, const side_code& code, bool features, bool id,
                                  int group) {
            if (features) {
                for (const auto& f : code.categorical) {
                    shape_.categorical.push_back(index(f.vocabulary.size()) + 1);  // + the unseen-value row
                    shape_.categorical_unseen.push_back(1);
                    shape_.categorical_group.push_back(group);
                }
            }
            if (id) {
                shape_.categorical.push_back(index(code.id.vocabulary.size()) + 1);
                shape_.categorical_unseen.push_back(1);
                shape_.categorical_group.push_back(group);
            }
            if (!features) return;
            for (const auto& f : code.multi) {
                shape_.multi.push_back(std::max<index>(1, index(f.vocabulary.size())));
                shape_.multi_group.push_back(group);
            }
            for (std::size_t k = 0; k < code.numeric.size(); ++k) shape_.dense_group.push_back(group);
            for (const auto& f : table.dense)
                for (index k = 0; k < f.dim; ++k) shape_.dense_group.push_back(group);
        };
        add_side(data_->users, user_, options_.user_features, options_.user_id, user_group);
        add_side(data_->items, item_, options_.item_features, options_.item_id, item_group);
        if (options_.pair_inputs < 0) throw std::invalid_argument("metarec: feature_encoder: pair_inputs < 0");
        for (index k = 0; k < options_.pair_inputs; ++k) shape_.dense_group.push_back(pair_group);
        shape_.dense = index(shape_.dense_group.size());
        if (shape_.categorical.empty() && shape_.multi.empty() && shape_.dense == 0)
            throw std::invalid_argument(
                "metarec: feature_encoder: no features selected (the data set has no side "
                "features: use an ID-based model with item_id)");
    }

    template <class S, class Device, class PairOf>
    nn::batch_data<S, Device> encode_with(index n, PairOf pair_of, std::span<const float> pair_values = {}) const {
        std::vector<std::vector<id_type>> categorical;
        std::vector<nn::host_bags> multi;
        std::vector<S> dense_values(static_cast<std::size_t>(shape_.dense * n));
        for (index j = 0; j < n; ++j) {
            const auto [user, item] = pair_of(j);
            if (user < 0 || user >= data_->users.rows() || item < 0 || item >= data_->items.rows())
                throw std::out_of_range("metarec: feature_encoder: user row " + std::to_string(user) + " or item row " +
                                        std::to_string(item) + " is outside the data set");
        }
        index row = 0;
        const auto side = [&](const data::feature_table& table, const side_code& code, bool features, bool id,
                              bool users) {
            const auto entity = [&](index j) { return users ? pair_of(j).first : pair_of(j).second; };
            if (features)
                for (std::size_t k = 0; k < table.categorical.size(); ++k) {
                    const auto& f = table.categorical[k];
                    auto& ids = categorical.emplace_back(static_cast<std::size_t>(n));
                    for (index j = 0; j < n; ++j)
                        ids[std::size_t(j)] = code.categorical[k].map(f.ids[std::size_t(entity(j))]);
                }
            if (id) {
                auto& ids = categorical.emplace_back(static_cast<std::size_t>(n));
                for (index j = 0; j < n; ++j) ids[std::size_t(j)] = code.id.map(id_type(entity(j)));
            }
            if (!features) return;
            for (std::size_t k = 0; k < table.multi.size(); ++k) {
                const auto& f = table.multi[k];
                auto& bags = multi.emplace_back();
                bags.offsets.push_back(0);
                for (index j = 0; j < n; ++j) {
                    const auto e = std::size_t(entity(j));
                    for (auto v = f.offsets[e]; v < f.offsets[e + 1]; ++v)
                        if (const id_type mapped = code.multi[k].map(f.ids[std::size_t(v)]); mapped >= 0)
                            bags.ids.push_back(mapped);
                    bags.offsets.push_back(id_type(bags.ids.size()));
                }
            }
            for (std::size_t k = 0; k < table.numeric.size(); ++k) {
                const auto& f = table.numeric[k];
                const auto [mean, sd] = code.numeric[k];
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
        side(data_->users, user_, options_.user_features, options_.user_id, true);
        side(data_->items, item_, options_.item_features, options_.item_id, false);
        for (index j = 0; j < n; ++j)
            for (index k = 0; k < options_.pair_inputs; ++k)
                dense_values[std::size_t(j * shape_.dense + row + k)] = S(pair_values[std::size_t(j * options_.pair_inputs + k)]);
        return nn::batch_data<S, Device>(n, dense_values, shape_.dense, categorical, multi);
    }

    const data::dataset* data_;
    encoder_options options_;
    side_code user_, item_;  // the model's vocabularies and statistics, and the data's ids mapped onto them
    nn::input_shape shape_;
};

}  // namespace metarec::recsys
