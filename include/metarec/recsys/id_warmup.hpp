// metarec: item cold start with id warm-up: a meta-learned generator of a new item's id
// embedding from its features (MetaEmb, Pan et al., SIGIR 2019), and the adaptation policy that
// warms the row up on the item's first interactions.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/random.hpp"
#include "../io/configuration.hpp"
#include "../nn/batch.hpp"
#include "../nn/layer.hpp"
#include "../optim/adam.hpp"
#include "../optim/state.hpp"
#include "features.hpp"

namespace metarec::recsys {

namespace detail {

/// Where a MeLU-style model (recsys::melu: one field_embeddings over every field first, the
/// features of feature_encoder with `item_id`) keeps the item's tables: the item id is the
/// last single-valued field of the item group (feature_encoder puts it after the item's
/// fields), its features the other item fields.
struct item_tables {
    index dim = 0;          // embedding dimension
    index id_field = -1;    // the item id's single-valued field
    index id_offset = 0;    // its table in the parameters (dim x id_rows, column-major)
    index id_rows = 0;      // its rows, the unseen-value row last
    std::vector<std::pair<index, index>> categorical, multi;  // item feature fields: (field, table offset)
    std::vector<index> dense;  // the item's dense rows
};

template <class Learner>
item_tables item_tables_of(const Learner& learner) {
    static_assert(requires { learner.slices(); learner.shape(); },
                  "metarec: id warm-up needs a learner with slices() and shape() (an nn::model such as recsys::melu)");
    const auto& shape = learner.shape();
    std::vector<index> tables, sizes;  // offsets and sizes of the embedding tables, single-valued fields first
    for (const auto& s : learner.slices())
        if (s.name == "embedding") {
            tables.push_back(s.offset);
            sizes.push_back(s.size);
        }
    const auto fields = shape.categorical.size() + shape.multi.size();
    if (tables.size() != fields)
        throw std::invalid_argument("metarec: id warm-up: the learner has " + std::to_string(tables.size()) +
                                    " embedding tables for " + std::to_string(fields) +
                                    " fields (it needs one field_embeddings over every field, as recsys::melu)");
    item_tables out;
    for (index f = 0; f < index(shape.categorical.size()); ++f)
        if (nn::group_of(shape.categorical_group, f) == item_group) out.id_field = f;
    if (out.id_field < 0)
        throw std::invalid_argument("metarec: id warm-up: the input has no item field (feature_encoder with item_id)");
    for (index f = 0; f < index(shape.categorical.size()); ++f)
        if (nn::group_of(shape.categorical_group, f) == item_group && f != out.id_field)
            out.categorical.emplace_back(f, tables[std::size_t(f)]);
    for (index f = 0; f < index(shape.multi.size()); ++f)
        if (nn::group_of(shape.multi_group, f) == item_group)
            out.multi.emplace_back(f, tables[shape.categorical.size() + std::size_t(f)]);
    for (index r = 0; r < shape.dense; ++r)
        if (nn::group_of(shape.dense_group, r) == item_group) out.dense.push_back(r);
    out.id_offset = tables[std::size_t(out.id_field)];
    out.id_rows = shape.categorical[std::size_t(out.id_field)];
    const index size = sizes[std::size_t(out.id_field)];
    out.dim = size / out.id_rows;
    if (out.dim < 1 || out.dim * out.id_rows != size)
        throw std::invalid_argument("metarec: id warm-up: cannot tell the embedding dimension of the item id table");
    return out;
}

}  // namespace detail

/// The adaptation policy of id warm-up: the item id's embedding table adapts, everything else
/// stays global. With tasks per item (data::task_group::item) every support sample looks up
/// the same row and the gradient is zero elsewhere, so the inner loop moves exactly the item's
/// row; a new item is looked up in the unseen-value row (feature_encoder), which is then its
/// row. Needs a MeLU-style learner (recsys::melu) over features with `item_id`.
/// @code
/// using model = metarec::recsys::melu<>;
/// using tuned = metarec::meta::fine_tune<model, metarec::loss::mse, metarec::optim::adam,
///                                        metarec::optim::sgd, metarec::recsys::adapt_item_id>;
/// @endcode
struct adapt_item_id {
    //! the item id's embedding table; std::invalid_argument if the learner has none
    template <class Learner>
    static parameter_range select(const Learner& learner) {
        const auto t = detail::item_tables_of(learner);
        return {t.id_offset, t.dim * t.id_rows};
    }
};

/// Options of meta_embedding::fit().
struct meta_embedding_options {
    double inner_lr = 0.01;     //!< a: the warm-up step of the generated row on the first batch
    double cold_weight = 0.1;   //!< b: weight of the cold loss (generated row) against the loss after one warm-up step
    double lr = 1e-3;           //!< the generator's Adam rate
    int epochs = 10;            //!< passes over the training items
    index meta_batch = 32;      //!< items per generator step
    int patience = 5;           //!< with validation items: epochs without improvement before stopping
    std::uint64_t seed = 1;     //!< seed of the item order
};

/// MetaEmb (Pan et al., SIGIR 2019): a generator of a new item's id embedding from its
/// features, meta-learned so that the generated row is good at once and after a gradient step
/// on the item's first interactions. The base model (a MeLU-style nn::model with the item id
/// among its features, pre-trained on the warm items) stays frozen; the generator reads the
/// item's feature embeddings in the base model's tables (and its dense rows), concatenated
/// into x, and produces
///
///     e = W2 tanh(W1 x + b1) + b2          (W1: d x |x|, W2: d x d, d the embedding dimension)
///
/// fit() treats every training task (one warm item: support a, query b) as a new item: its
/// id row replaced by e, the loss `l_a(e)` on the support, one step `e' = e - a grad l_a(e)`,
/// the loss `l_b(e')` on the query, and the generator's loss
///
///     b l_a(e) + (1 - b) l_b(e')
///
/// whose gradient with respect to e is taken to first order, `b grad l_a(e) + (1 - b) grad
/// l_b(e')` (the exact term subtracts `a (1 - b) H_a grad l_b(e')`, small for a small step).
/// At serving time initialize() writes e into the new item's row (the unseen-value row) of a
/// copy of the parameters, from which the algorithm adapts: `algorithm.adapt(initial,
/// support, target)` with adapt_item_id (the row warms up) or adapt_dense_head.
/// The generator starts near the zero row (b2 = 0, small weights): before fit() it is the
/// unseen-value row's "no information".
/// @code
/// mr::recsys::meta_embedding<float> generator(pretrained.learner(), /*seed=*/1);
/// generator.fit(pretrained.learner(), mr::loss::mse{}, mr::meta::views(train_items), {.epochs = 10});
/// std::vector<float> initial(pretrained.learner().parameter_count());
/// generator.initialize(pretrained.learner().parameters(), item.support, initial.data());
/// auto warmed = pretrained.adapt(initial.data(), item.support, item.support_target);
/// @endcode
/// Host memory only (device::cpu).
/// @tparam Scalar float or double, the base model's scalar
template <class Scalar = float>
class meta_embedding {
public:
    /// A generator for `model`'s item id table, weights uniform in +-1/sqrt(fan-in) scaled by
    /// 0.1 (seeded), biases zero. std::invalid_argument if the model has no item id table.
    template <class Learner>
    explicit meta_embedding(const Learner& model, std::uint64_t seed = 1) : tables_(detail::item_tables_of(model)) {
        static_assert(Learner::device_type::host_memory, "metarec: meta_embedding runs in host memory (device::cpu)");
        static_assert(std::is_same_v<typename Learner::scalar_type, Scalar>,
                      "metarec: meta_embedding<Scalar> needs a learner of the same scalar type");
        const index d = tables_.dim;
        inputs_ = d * index(tables_.categorical.size() + tables_.multi.size()) + index(tables_.dense.size());
        if (inputs_ == 0)
            throw std::invalid_argument("metarec: meta_embedding: the item has no feature to generate its embedding from");
        base_parameters_ = model.parameter_count();
        theta_.assign(std::size_t(d * inputs_ + d + d * d + d), Scalar(0));
        metarec::detail::rng g(seed);
        const auto fill = [&](Scalar* w, index n, index fan_in) {
            const double bound = 0.1 / std::sqrt(double(fan_in));
            for (index k = 0; k < n; ++k) w[k] = Scalar(bound * (2 * g.uniform() - 1));
        };
        fill(w1(), d * inputs_, inputs_);
        fill(w2(), d * d, d);
    }

    /// The generator that describe() wrote beside `model` (a saved model's configuration,
    /// io::configuration::read): what a serving program builds to serve new items.
    /// std::invalid_argument if the configuration has no generator or one of another size.
    template <class Learner>
    meta_embedding(const Learner& model, const io::configuration& saved) : meta_embedding(model) {
        const std::string* text = saved.find("metaemb.parameters");
        if (!text) throw std::invalid_argument("metarec: meta_embedding: the model was saved without a generator (metaemb.parameters)");
        const char* at = text->data();
        const char* end = at + text->size();
        std::size_t k = 0;
        for (; at < end && k < theta_.size(); ++k) {
            const auto [next, error] = std::from_chars(at, end, theta_[k]);
            if (error != std::errc() || !std::isfinite(theta_[k])) break;
            at = next < end && *next == ' ' ? next + 1 : next;
        }
        if (k != theta_.size() || at != end)
            throw std::invalid_argument("metarec: meta_embedding: the saved generator (metaemb.parameters) is malformed "
                                        "or not of " + std::to_string(theta_.size()) + " parameters for this model");
    }

    /// Writes the generator into `description` (`metaemb.parameters`, each parameter in the
    /// shortest text that reads back exactly), to be saved with the model:
    /// `algorithm.save(path, description)`; the constructor from a configuration reads it back.
    void describe(io::configuration& description) const {
        std::string text;
        char number[64];
        for (const Scalar v : theta_) {
            const auto [end, error] = std::to_chars(number, number + sizeof number, v);
            if (!text.empty()) text += ' ';
            text.append(number, end);
        }
        description.set("metaemb.parameters", std::move(text));
    }

    //! the generator's parameters: W1, b1, W2, b2 (column-major)
    std::span<Scalar> parameters() noexcept { return theta_; }
    //! the generator's parameters, read-only
    std::span<const Scalar> parameters() const noexcept { return theta_; }
    //! the embedding dimension (rows of a generated embedding)
    index dim() const noexcept { return tables_.dim; }
    //! the length of the generator's input: the item's feature embeddings and dense rows
    index input_size() const noexcept { return inputs_; }

    /// The generated id embedding of the item of sample `j` of `x`, from its feature
    /// embeddings in the base parameters `theta`.
    std::vector<Scalar> generate(const Scalar* theta, const nn::batch<Scalar>& x, index j = 0) const {
        std::vector<Scalar> input, hidden, out;
        generate(theta, x, j, input, hidden, out);
        return out;
    }

    /// Copies the base parameters `theta` into `out` (the base model's parameter_count())
    /// with the row of the item of `x` (every sample of `x` must be the same item: a task per
    /// item) replaced by its generated embedding: where algorithm.adapt(out, x, target) starts
    /// for a new item. std::invalid_argument if `x` is empty or mixes items.
    void initialize(const Scalar* theta, const nn::batch<Scalar>& x, Scalar* out) const {
        std::copy(theta, theta + base_parameters_, out);
        const auto row = generate(theta, x, 0);
        std::copy(row.begin(), row.end(), out + tables_.id_offset + tables_.dim * item_column(x));
    }

    /// Meta-learns the generator on `tasks` (each one warm item: the cold loss on its support,
    /// the warm-up loss on its query) with `model`'s parameters frozen; the base model is the
    /// one the generator was built for. With `validation` tasks (items treated as new), keeps
    /// the parameters of the epoch with the lowest validation loss and stops after
    /// `patience` epochs without improvement. Returns the mean training loss of each epoch.
    /// @tparam Tasks a range of meta::task views (meta::views() of the training items)
    template <class Learner, class Loss, class Tasks>
    std::vector<double> fit(const Learner& model, const Loss& loss, const Tasks& tasks, meta_embedding_options o = {},
                            const Tasks& validation = {}) {
        using device = typename Learner::device_type;
        if (model.parameter_count() != base_parameters_)
            throw std::invalid_argument("metarec: meta_embedding::fit: the model is not the one the generator was built for");
        if (!(o.cold_weight >= 0 && o.cold_weight <= 1) || !(o.inner_lr >= 0) || !(o.lr > 0) || o.epochs < 0 ||
            o.meta_batch < 1 || o.patience < 1)
            throw std::invalid_argument("metarec: meta_embedding::fit: need cold_weight in [0, 1], inner_lr >= 0, "
                                        "lr > 0, epochs >= 0, meta_batch >= 1, patience >= 1");
        const index d = tables_.dim, n_tasks = index(std::size(tasks));
        std::vector<Scalar> theta(model.parameters(), model.parameters() + base_parameters_), grad(theta.size());
        const auto rows_of_d = static_cast<std::size_t>(d);
        std::vector<Scalar> input, hidden, row, warm(rows_of_d), drow(rows_of_d), dwarm(rows_of_d), pred, dpred;
        std::vector<Scalar> step_gradient(theta_.size());
        auto ws = model.make_workspace(1);
        const optim::adam adam{.lr = o.lr};
        auto state = optim::make_state<Scalar, device>(adam, index(theta_.size()));
        // the loss of `x` with the item's row at `e`, and its gradient with respect to e (into `de`)
        const auto row_loss = [&](const nn::batch<Scalar>& x, const Scalar* target, Scalar* column,
                                  const Scalar* e, Scalar* de) {
            std::copy(e, e + d, column);
            const index rows = model.output_rows(), n = x.size();
            pred.resize(std::size_t(rows * n));
            dpred.resize(pred.size());
            model.forward(theta.data(), x, ws, pred.data());
            const double value = loss.template value<device>(pred.data(), target, rows, n);
            loss.template gradient<device>(pred.data(), target, rows, n, dpred.data());
            std::fill(grad.begin(), grad.end(), Scalar(0));
            model.backward(theta.data(), x, ws, dpred.data(), grad.data());
            std::copy(grad.begin() + (column - theta.data()), grad.begin() + (column - theta.data()) + d, de);
            return value;
        };
        // the task's loss b l_a(e) + (1 - b) l_b(e'); with `weight` > 0, step_gradient += weight
        // times its gradient with respect to the generator's parameters
        const auto task_loss = [&](const auto& task, Scalar weight) {
            Scalar* column = theta.data() + tables_.id_offset + d * item_column(task.support);
            const std::vector<Scalar> trained(column, column + d);
            generate(theta.data(), task.support, 0, input, hidden, row);
            const double cold = row_loss(task.support, task.support_target, column, row.data(), drow.data());
            for (index r = 0; r < d; ++r)
                warm[std::size_t(r)] = row[std::size_t(r)] - Scalar(o.inner_lr) * drow[std::size_t(r)];
            const double warmed = row_loss(task.query, task.query_target, column, warm.data(), dwarm.data());
            std::copy(trained.begin(), trained.end(), column);  // the item's own row back
            if (weight > 0) {
                for (index r = 0; r < d; ++r)
                    drow[std::size_t(r)] = Scalar(o.cold_weight) * drow[std::size_t(r)] +
                                           Scalar(1 - o.cold_weight) * dwarm[std::size_t(r)];
                backward(input, hidden, drow, weight, step_gradient);
            }
            return o.cold_weight * cold + (1 - o.cold_weight) * warmed;
        };
        std::vector<index> order(static_cast<std::size_t>(n_tasks));
        for (index k = 0; k < n_tasks; ++k) order[std::size_t(k)] = k;
        metarec::detail::rng g(o.seed);
        std::vector<double> history;
        std::vector<Scalar> best = theta_;
        double best_loss = std::numeric_limits<double>::infinity();
        int since_best = 0;
        for (int epoch = 0; epoch < o.epochs; ++epoch) {
            for (index k = n_tasks - 1; k > 0; --k) std::swap(order[std::size_t(k)], order[g.below(std::uint64_t(k + 1))]);
            double total = 0;
            for (index first = 0; first < n_tasks; first += o.meta_batch) {
                const index last = std::min(n_tasks, first + o.meta_batch);
                std::fill(step_gradient.begin(), step_gradient.end(), Scalar(0));
                for (index k = first; k < last; ++k)
                    total += task_loss(*(std::begin(tasks) + order[std::size_t(k)]), Scalar(1) / Scalar(last - first));
                adam.step(state, theta_.data(), step_gradient.data(), index(theta_.size()));
            }
            history.push_back(n_tasks > 0 ? total / double(n_tasks) : 0.0);
            if (std::size(validation) == 0) continue;
            double held = 0;
            for (const auto& task : validation) held += task_loss(task, Scalar(0));
            held /= double(std::size(validation));
            if (held < best_loss) {  // NaN never wins
                best_loss = held;
                best = theta_;
                since_best = 0;
            } else if (++since_best >= o.patience) {
                break;
            }
        }
        if (std::size(validation) != 0 && std::isfinite(best_loss)) theta_ = best;
        return history;
    }

private:
    Scalar* w1() noexcept { return theta_.data(); }
    Scalar* b1() noexcept { return w1() + tables_.dim * inputs_; }
    Scalar* w2() noexcept { return b1() + tables_.dim; }
    Scalar* b2() noexcept { return w2() + tables_.dim * tables_.dim; }
    const Scalar* w1() const noexcept { return theta_.data(); }
    const Scalar* b1() const noexcept { return w1() + tables_.dim * inputs_; }
    const Scalar* w2() const noexcept { return b1() + tables_.dim; }
    const Scalar* b2() const noexcept { return w2() + tables_.dim * tables_.dim; }

    // the id table column of the batch's item (every sample the same item)
    index item_column(const nn::batch<Scalar>& x) const {
        if (x.size() <= 0) throw std::invalid_argument("metarec: meta_embedding: the batch is empty");
        const id_type* ids = x.categorical[std::size_t(tables_.id_field)];
        for (index j = 1; j < x.size(); ++j)
            if (ids[j] != ids[0])
                throw std::invalid_argument("metarec: meta_embedding: a task mixes items (use tasks per item: "
                                            "data::task_group::item)");
        if (ids[0] < 0 || ids[0] >= tables_.id_rows)
            throw std::invalid_argument("metarec: meta_embedding: item id " + std::to_string(ids[0]) +
                                        " is outside the id table");
        return ids[0];
    }

    // x = [item feature embeddings..., item dense rows], h = tanh(W1 x + b1), e = W2 h + b2
    void generate(const Scalar* theta, const nn::batch<Scalar>& x, index j, std::vector<Scalar>& input,
                  std::vector<Scalar>& hidden, std::vector<Scalar>& out) const {
        const index d = tables_.dim;
        input.assign(std::size_t(inputs_), Scalar(0));
        auto* at = input.data();
        for (const auto& [f, table] : tables_.categorical) {
            const Scalar* column = theta + table + d * x.categorical[std::size_t(f)][j];
            std::copy(column, column + d, at);
            at += d;
        }
        for (const auto& [f, table] : tables_.multi) {  // the mean of the bag's rows (empty bag: zero)
            const auto& bag = x.multi[std::size_t(f)];
            const auto begin = bag.offsets[j], end = bag.offsets[j + 1];
            for (auto v = begin; v < end; ++v)
                for (index r = 0; r < d; ++r) at[r] += theta[table + d * bag.ids[v] + r] / Scalar(end - begin);
            at += d;
        }
        for (const index r : tables_.dense) *at++ = x.dense[j * x.dense_dim + r];
        hidden.assign(b1(), b1() + d);
        for (index c = 0; c < inputs_; ++c)
            for (index r = 0; r < d; ++r) hidden[std::size_t(r)] += w1()[c * d + r] * input[std::size_t(c)];
        for (auto& h : hidden) h = std::tanh(h);
        out.assign(b2(), b2() + d);
        for (index c = 0; c < d; ++c)
            for (index r = 0; r < d; ++r) out[std::size_t(r)] += w2()[c * d + r] * hidden[std::size_t(c)];
    }

    // grad += weight * d e / d(W1, b1, W2, b2)^T de, for the input and hidden values of generate()
    void backward(const std::vector<Scalar>& input, const std::vector<Scalar>& hidden, const std::vector<Scalar>& de,
                  Scalar weight, std::vector<Scalar>& grad) const {
        const index d = tables_.dim;
        Scalar* gw1 = grad.data();
        Scalar* gb1 = gw1 + d * inputs_;
        Scalar* gw2 = gb1 + d;
        Scalar* gb2 = gw2 + d * d;
        std::vector<Scalar> da(static_cast<std::size_t>(d), Scalar(0));  // through W2, then tanh
        for (index c = 0; c < d; ++c) {
            for (index r = 0; r < d; ++r) {
                gw2[c * d + r] += weight * de[std::size_t(r)] * hidden[std::size_t(c)];
                da[std::size_t(c)] += w2()[c * d + r] * de[std::size_t(r)];
            }
            da[std::size_t(c)] *= Scalar(1) - hidden[std::size_t(c)] * hidden[std::size_t(c)];
        }
        for (index r = 0; r < d; ++r) {
            gb2[r] += weight * de[std::size_t(r)];
            gb1[r] += weight * da[std::size_t(r)];
        }
        for (index c = 0; c < inputs_; ++c)
            for (index r = 0; r < d; ++r) gw1[c * d + r] += weight * da[std::size_t(r)] * input[std::size_t(c)];
    }

    detail::item_tables tables_;
    index inputs_ = 0;
    index base_parameters_ = 0;
    std::vector<Scalar> theta_;  // W1 (d x inputs), b1 (d), W2 (d x d), b2 (d)
};

}  // namespace metarec::recsys
