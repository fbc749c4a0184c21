// metarec: item cold start with id warm-up: a meta-learned generator of a new item's id
// embedding from its features (MetaEmb, Pan et al., SIGIR 2019), meta scaling and shifting of
// the cold row by the item's first interactions (MWUF, Zhu et al., SIGIR 2021), and the
// adaptation policy that warms the row up on the item's first interactions.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
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

/// The embedding tables and dense rows of one feature group (the user's, or the item's
/// features without its id) of a MeLU-style model.
struct group_tables {
    std::vector<std::pair<index, index>> categorical, multi;  // fields: (field, table offset)
    std::vector<index> dense;                                 // dense rows

    // the length of the group's input: an embedding of dimension d per field, and the dense rows
    index inputs(index d) const noexcept { return d * index(categorical.size() + multi.size()) + index(dense.size()); }
};

/// Where a MeLU-style model (recsys::melu: one field_embeddings over every field first, the
/// features of feature_encoder with `item_id`) keeps the item's tables: the item id is the
/// last single-valued field of the item group (feature_encoder puts it after the item's
/// fields), its features the other item fields; and the user's tables.
struct item_tables {
    index dim = 0;          // embedding dimension
    index id_field = -1;    // the item id's single-valued field
    index id_offset = 0;    // its table in the parameters (dim x id_rows, column-major)
    index id_rows = 0;      // its rows, the unseen-value row last
    group_tables item;      // the item's feature fields
    group_tables user;      // the user's fields
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
    const auto group = [&](int g) -> group_tables* {
        return g == item_group ? &out.item : g == user_group ? &out.user : nullptr;
    };
    for (index f = 0; f < index(shape.categorical.size()); ++f)
        if (auto* g = group(nn::group_of(shape.categorical_group, f)); g && f != out.id_field)
            g->categorical.emplace_back(f, tables[std::size_t(f)]);
    for (index f = 0; f < index(shape.multi.size()); ++f)
        if (auto* g = group(nn::group_of(shape.multi_group, f)))
            g->multi.emplace_back(f, tables[shape.categorical.size() + std::size_t(f)]);
    for (index r = 0; r < shape.dense; ++r)
        if (auto* g = group(nn::group_of(shape.dense_group, r))) g->dense.push_back(r);
    out.id_offset = tables[std::size_t(out.id_field)];
    out.id_rows = shape.categorical[std::size_t(out.id_field)];
    const index size = sizes[std::size_t(out.id_field)];
    out.dim = size / out.id_rows;
    if (out.dim < 1 || out.dim * out.id_rows != size)
        throw std::invalid_argument("metarec: id warm-up: cannot tell the embedding dimension of the item id table");
    return out;
}

/// at += weight [the group's field embeddings in theta..., its dense rows] of sample j of x
/// (a bag: the mean of its rows, an empty bag zero): a net's input of inputs(d) values.
template <class S>
void add_features(const group_tables& group, index d, const S* theta, const nn::batch<S>& x, index j, S weight, S* at) {
    for (const auto& [f, table] : group.categorical) {
        const S* column = theta + table + d * x.categorical[std::size_t(f)][j];
        for (index r = 0; r < d; ++r) at[r] += weight * column[r];
        at += d;
    }
    for (const auto& [f, table] : group.multi) {
        const auto& bag = x.multi[std::size_t(f)];
        const auto begin = bag.offsets[j], end = bag.offsets[j + 1];
        for (auto v = begin; v < end; ++v)
            for (index r = 0; r < d; ++r) at[r] += weight * theta[table + d * bag.ids[v] + r] / S(end - begin);
        at += d;
    }
    for (const index r : group.dense) *at++ += weight * x.dense[j * x.dense_dim + r];
}

/// The id table column of the item of `x` (every sample the same item: a task per item);
/// std::invalid_argument, naming `who`, if `x` is empty or mixes items.
template <class S>
index item_column(const item_tables& tables, const nn::batch<S>& x, const std::string& who) {
    if (x.size() <= 0) throw std::invalid_argument("metarec: " + who + ": the batch is empty");
    const id_type* ids = x.categorical[std::size_t(tables.id_field)];
    for (index j = 1; j < x.size(); ++j)
        if (ids[j] != ids[0])
            throw std::invalid_argument("metarec: " + who + ": a task mixes items (use tasks per item: data::task_group::item)");
    if (ids[0] < 0 || ids[0] >= tables.id_rows)
        throw std::invalid_argument("metarec: " + who + ": item id " + std::to_string(ids[0]) + " is outside the id table");
    return ids[0];
}

/// y = W2 tanh(W1 x + b1) + b2, W1: d x n, W2: d x d, its parameters W1, b1, W2, b2
/// (column-major) in one array: MetaEmb's generator, MWUF's scaling and shifting nets.
template <class S>
struct tanh_net {
    index inputs = 0;  // n
    index dim = 0;     // d

    index size() const noexcept { return dim * inputs + dim + dim * dim + dim; }

    // weights uniform in +-0.1/sqrt(fan-in) (W1's, then W2's draws), biases zero: y near b2 = 0
    void initialize(S* w, metarec::detail::rng& g) const {
        std::fill(w, w + size(), S(0));
        const auto fill = [&](S* at, index n, index fan_in) {
            const double bound = 0.1 / std::sqrt(double(fan_in));
            for (index k = 0; k < n; ++k) at[k] = S(bound * (2 * g.uniform() - 1));
        };
        fill(w, dim * inputs, inputs);
        fill(w + dim * inputs + dim, dim * dim, dim);
    }

    // h = tanh(W1 x + b1), y = W2 h + b2
    void forward(const S* w, const S* x, std::vector<S>& hidden, std::vector<S>& y) const {
        const index d = dim;
        const S* b1 = w + d * inputs;
        const S* w2 = b1 + d;
        const S* b2 = w2 + d * d;
        hidden.assign(b1, b1 + d);
        for (index c = 0; c < inputs; ++c)
            for (index r = 0; r < d; ++r) hidden[std::size_t(r)] += w[c * d + r] * x[c];
        for (auto& h : hidden) h = std::tanh(h);
        y.assign(b2, b2 + d);
        for (index c = 0; c < d; ++c)
            for (index r = 0; r < d; ++r) y[std::size_t(r)] += w2[c * d + r] * hidden[std::size_t(c)];
    }

    // grad += weight (dy / d(W1, b1, W2, b2))^T dy, for the x and h of forward()
    void backward(const S* w, const S* x, const std::vector<S>& hidden, const S* dy, S weight, S* grad) const {
        const index d = dim;
        const S* w2 = w + d * inputs + d;
        S* gb1 = grad + d * inputs;
        S* gw2 = gb1 + d;
        S* gb2 = gw2 + d * d;
        std::vector<S> da(static_cast<std::size_t>(d), S(0));  // through W2, then tanh
        for (index c = 0; c < d; ++c) {
            for (index r = 0; r < d; ++r) {
                gw2[c * d + r] += weight * dy[r] * hidden[std::size_t(c)];
                da[std::size_t(c)] += w2[c * d + r] * dy[r];
            }
            da[std::size_t(c)] *= S(1) - hidden[std::size_t(c)] * hidden[std::size_t(c)];
        }
        for (index r = 0; r < d; ++r) {
            gb2[r] += weight * dy[r];
            gb1[r] += weight * da[std::size_t(r)];
        }
        for (index c = 0; c < inputs; ++c)
            for (index r = 0; r < d; ++r) grad[c * d + r] += weight * da[std::size_t(r)] * x[c];
    }
};

/// The loss of a batch of one item with the item's id row set to e, and its gradient with
/// respect to e, for a frozen MeLU-style model (a copy of its parameters: the item's own row
/// is put back after each call).
template <class Learner, class Loss>
class row_objective {
public:
    using scalar = typename Learner::scalar_type;

    row_objective(const Learner& model, const Loss& loss, const item_tables& tables)
        : model_(model), loss_(loss), tables_(tables),
          theta_(model.parameters(), model.parameters() + model.parameter_count()), grad_(theta_.size()),
          ws_(model.make_workspace(1)) {}

    // the frozen parameters (the item rows are theirs between calls)
    const scalar* parameters() const noexcept { return theta_.data(); }

    // the loss of x (targets `target`) with the row of id table column `column` at e; de = its gradient
    double operator()(const nn::batch<scalar>& x, const scalar* target, index column, const scalar* e, scalar* de) {
        using device = typename Learner::device_type;
        const index d = tables_.dim;
        scalar* row = theta_.data() + tables_.id_offset + d * column;
        const std::vector<scalar> own(row, row + d);
        std::copy(e, e + d, row);
        const index rows = model_.output_rows(), n = x.size();
        pred_.resize(std::size_t(rows * n));
        dpred_.resize(pred_.size());
        model_.forward(theta_.data(), x, ws_, pred_.data());
        const double value = loss_.template value<device>(pred_.data(), target, rows, n);
        loss_.template gradient<device>(pred_.data(), target, rows, n, dpred_.data());
        std::fill(grad_.begin(), grad_.end(), scalar(0));
        model_.backward(theta_.data(), x, ws_, dpred_.data(), grad_.data());
        std::copy(grad_.begin() + (row - theta_.data()), grad_.begin() + (row - theta_.data()) + d, de);
        std::copy(own.begin(), own.end(), row);
        return value;
    }

private:
    const Learner& model_;
    const Loss& loss_;
    const item_tables& tables_;
    std::vector<scalar> theta_, grad_, pred_, dpred_;
    decltype(std::declval<const Learner&>().make_workspace(1)) ws_;
};

/// Adam (rate o.lr) on `theta` over `tasks` in shuffled meta-batches of o.meta_batch, for
/// o.epochs epochs: `task_loss(task, weight, gradient)` returns a task's loss and, with
/// weight > 0, adds weight times its gradient with respect to theta into `gradient`. With
/// `validation` tasks, keeps the theta of the epoch with the lowest validation loss and stops
/// after o.patience epochs without improvement. Returns the mean training loss of each epoch.
template <class Device, class Scalar, class Options, class Tasks, class TaskLoss>
std::vector<double> fit_items(std::vector<Scalar>& theta, const Tasks& tasks, const Tasks& validation, const Options& o,
                              TaskLoss&& task_loss) {
    const index n_tasks = index(std::size(tasks));
    std::vector<Scalar> step_gradient(theta.size());
    const optim::adam adam{.lr = o.lr};
    auto state = optim::make_state<Scalar, Device>(adam, index(theta.size()));
    std::vector<index> order(static_cast<std::size_t>(n_tasks));
    for (index k = 0; k < n_tasks; ++k) order[std::size_t(k)] = k;
    metarec::detail::rng g(o.seed);
    std::vector<double> history;
    std::vector<Scalar> best = theta;
    double best_loss = std::numeric_limits<double>::infinity();
    int since_best = 0;
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
        for (index k = n_tasks - 1; k > 0; --k) std::swap(order[std::size_t(k)], order[g.below(std::uint64_t(k + 1))]);
        double total = 0;
        for (index first = 0; first < n_tasks; first += o.meta_batch) {
            const index last = std::min(n_tasks, first + o.meta_batch);
            std::fill(step_gradient.begin(), step_gradient.end(), Scalar(0));
            for (index k = first; k < last; ++k)
                total += task_loss(*(std::begin(tasks) + order[std::size_t(k)]), Scalar(1) / Scalar(last - first),
                                   step_gradient);
            adam.step(state, theta.data(), step_gradient.data(), index(theta.size()));
        }
        history.push_back(n_tasks > 0 ? total / double(n_tasks) : 0.0);
        if (std::size(validation) == 0) continue;
        double held = 0;
        for (const auto& task : validation) held += task_loss(task, Scalar(0), step_gradient);
        held /= double(std::size(validation));
        if (held < best_loss) {  // NaN never wins
            best_loss = held;
            best = theta;
            since_best = 0;
        } else if (++since_best >= o.patience) {
            break;
        }
    }
    if (std::size(validation) != 0 && std::isfinite(best_loss)) theta = best;
    return history;
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
        net_ = {tables_.item.inputs(tables_.dim), tables_.dim};
        if (net_.inputs == 0)
            throw std::invalid_argument("metarec: meta_embedding: the item has no feature to generate its embedding from");
        base_parameters_ = model.parameter_count();
        theta_.resize(std::size_t(net_.size()));
        metarec::detail::rng g(seed);
        net_.initialize(theta_.data(), g);
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
    index input_size() const noexcept { return net_.inputs; }

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
        std::copy(row.begin(), row.end(), out + tables_.id_offset + tables_.dim * detail::item_column(tables_, x, who));
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
        const index d = tables_.dim;
        detail::row_objective objective(model, loss, tables_);
        std::vector<Scalar> input, hidden, row, warm(static_cast<std::size_t>(d)), drow(warm.size()), dwarm(warm.size());
        // the task's loss b l_a(e) + (1 - b) l_b(e'); with `weight` > 0, gradient += weight
        // times its gradient with respect to the generator's parameters
        const auto task_loss = [&](const auto& task, Scalar weight, std::vector<Scalar>& gradient) {
            const index column = detail::item_column(tables_, task.support, who);
            generate(objective.parameters(), task.support, 0, input, hidden, row);
            const double cold = objective(task.support, task.support_target, column, row.data(), drow.data());
            for (index r = 0; r < d; ++r)
                warm[std::size_t(r)] = row[std::size_t(r)] - Scalar(o.inner_lr) * drow[std::size_t(r)];
            const double warmed = objective(task.query, task.query_target, column, warm.data(), dwarm.data());
            if (weight > 0) {
                for (index r = 0; r < d; ++r)
                    drow[std::size_t(r)] = Scalar(o.cold_weight) * drow[std::size_t(r)] +
                                           Scalar(1 - o.cold_weight) * dwarm[std::size_t(r)];
                net_.backward(theta_.data(), input.data(), hidden, drow.data(), weight, gradient.data());
            }
            return o.cold_weight * cold + (1 - o.cold_weight) * warmed;
        };
        return detail::fit_items<device>(theta_, tasks, validation, o, task_loss);
    }

private:
    static inline const std::string who = "meta_embedding";

    // x = [item feature embeddings..., item dense rows], e = net(x)
    void generate(const Scalar* theta, const nn::batch<Scalar>& x, index j, std::vector<Scalar>& input,
                  std::vector<Scalar>& hidden, std::vector<Scalar>& out) const {
        input.assign(std::size_t(net_.inputs), Scalar(0));
        detail::add_features(tables_.item, tables_.dim, theta, x, j, Scalar(1), input.data());
        net_.forward(theta_.data(), input.data(), hidden, out);
    }

    detail::item_tables tables_;
    detail::tanh_net<Scalar> net_;
    index base_parameters_ = 0;
    std::vector<Scalar> theta_;  // W1 (d x inputs), b1 (d), W2 (d x d), b2 (d)
};
/// Options of meta_warm_up::fit().
struct meta_warm_up_options {
    double lr = 1e-3;         //!< the nets' Adam rate
    int epochs = 10;          //!< passes over the training items
    index meta_batch = 32;    //!< items per step
    int patience = 5;         //!< with validation items: epochs without improvement before stopping
    std::uint64_t seed = 1;   //!< seed of the item order
};

/// MWUF (Zhu et al., SIGIR 2021, "Learning to Warm Up Cold Item Embeddings for Cold-start
/// Recommendation with Meta Scaling and Shifting Networks"): the cold id row r of a new item
/// (the unseen-value row, or MetaEmb's generated row) warmed up by its first interactions to
///
///     w = s * r + t,   s = 1 + tanh(S(x_item)),   t = T(mean_j x_j, mean_j y_j x_j, mean_j y_j)
///
/// (elementwise), S and T two-layer tanh nets as MetaEmb's generator: S (meta scaling) over
/// the item's feature embeddings and dense rows (the generator's input), T (meta shifting)
/// over the item's first interactions, the support's samples j: x_j the user fields'
/// embeddings and dense rows in the base model's tables (MeLU has no user ids: the users are
/// their features), y_j the rating. The paper's interactions are clicks, where who interacted
/// is the signal; with ratings, what they rated is too (on MovieLens 100K's new items, the
/// ratings left out lose most of the gain: docs/results.md). Small weights and zero biases at
/// the start: s near 1, t near 0, w near r.
///
/// fit() meta-learns S and T with the base model frozen on the training items treated as
/// new: each item's cold row r (the unseen-value row, or the generator's), w from its
/// support, the loss l_b(w) on its query; with g = grad l_b(w), dl/dt = g and
/// dl/dS = g * r * (1 - (s - 1)^2). At serving time warm_up() rewrites the new item's row in
/// a copy of the parameters (meta_embedding::initialize's, or a plain copy: the zero row),
/// from which the algorithm adapts: `algorithm.adapt(initial, support, target)`.
/// @code
/// mr::recsys::meta_warm_up<float> mwuf(pretrained.learner(), /*seed=*/1);
/// mwuf.fit(pretrained.learner(), mr::loss::mse{}, mr::meta::views(train_items), {.epochs = 10}, {}, &generator);
/// generator.initialize(pretrained.learner().parameters(), item.support, initial.data());
/// mwuf.warm_up(item.support, item.support_target, initial.data());
/// auto warmed = pretrained.adapt(initial.data(), item.support, item.support_target);
/// @endcode
/// Host memory only (device::cpu).
/// @tparam Scalar float or double, the base model's scalar
template <class Scalar = float>
class meta_warm_up {
public:
    /// Scaling and shifting nets for `model`'s item id table (weights as meta_embedding's,
    /// seeded). std::invalid_argument if the model has no item id table, the item no feature
    /// or the user none.
    template <class Learner>
    explicit meta_warm_up(const Learner& model, std::uint64_t seed = 1) : tables_(detail::item_tables_of(model)) {
        static_assert(Learner::device_type::host_memory, "metarec: meta_warm_up runs in host memory (device::cpu)");
        static_assert(std::is_same_v<typename Learner::scalar_type, Scalar>,
                      "metarec: meta_warm_up<Scalar> needs a learner of the same scalar type");
        scale_ = {tables_.item.inputs(tables_.dim), tables_.dim};
        shift_ = {2 * tables_.user.inputs(tables_.dim) + 1, tables_.dim};
        if (scale_.inputs == 0 || shift_.inputs == 1)
            throw std::invalid_argument("metarec: meta_warm_up: the item and the user need features (the scaling and "
                                        "shifting nets' inputs)");
        base_parameters_ = model.parameter_count();
        theta_.resize(std::size_t(scale_.size() + shift_.size()));
        metarec::detail::rng g(seed);
        scale_.initialize(theta_.data(), g);
        shift_.initialize(theta_.data() + scale_.size(), g);
    }

    //! the nets' parameters: the scaling net's W1, b1, W2, b2, then the shifting net's
    std::span<Scalar> parameters() noexcept { return theta_; }
    //! the nets' parameters, read-only
    std::span<const Scalar> parameters() const noexcept { return theta_; }

    /// Rewrites the row of the item of `support` (every sample the same item; its ratings
    /// `target`) in `parameters` (a copy of the base model's, the item's cold row in place) to
    /// its warmed row s * r + t, from the item's and the support users' features in
    /// `parameters`. std::invalid_argument if `support` is empty or mixes items.
    void warm_up(const nn::batch<Scalar>& support, const Scalar* target, Scalar* parameters) const {
        Scalar* row = parameters + tables_.id_offset + tables_.dim * detail::item_column(tables_, support, who);
        pass p;
        forward(parameters, support, target, row, p);
        std::copy(p.warm.begin(), p.warm.end(), row);
    }

    /// Meta-learns the nets on `tasks` (each one warm item treated as new: its cold row warmed
    /// by its support, the loss on its query) with `model`'s parameters frozen; the cold row is
    /// the unseen-value row, or `cold`'s generated row. With `validation` tasks, keeps the
    /// parameters of the epoch with the lowest validation loss and stops after `patience`
    /// epochs without improvement. Returns the mean training loss of each epoch.
    /// @tparam Tasks a range of meta::task views (meta::views() of the training items)
    template <class Learner, class Loss, class Tasks>
    std::vector<double> fit(const Learner& model, const Loss& loss, const Tasks& tasks, meta_warm_up_options o = {},
                            const Tasks& validation = {}, const meta_embedding<Scalar>* cold = nullptr) {
        using device = typename Learner::device_type;
        if (model.parameter_count() != base_parameters_)
            throw std::invalid_argument("metarec: meta_warm_up::fit: the model is not the one the nets were built for");
        if (!(o.lr > 0) || o.epochs < 0 || o.meta_batch < 1 || o.patience < 1)
            throw std::invalid_argument("metarec: meta_warm_up::fit: need lr > 0, epochs >= 0, meta_batch >= 1, patience >= 1");
        const index d = tables_.dim;
        detail::row_objective objective(model, loss, tables_);
        const Scalar* unseen = objective.parameters() + tables_.id_offset + d * (tables_.id_rows - 1);
        std::vector<Scalar> row(unseen, unseen + d), dwarm(row.size()), dscale(row.size());
        pass p;
        // l_b(s * r + t); with `weight` > 0, gradient += weight times its gradient with respect to the nets
        const auto task_loss = [&](const auto& task, Scalar weight, std::vector<Scalar>& gradient) {
            const index column = detail::item_column(tables_, task.support, who);
            if (cold) row = cold->generate(objective.parameters(), task.support);
            forward(objective.parameters(), task.support, task.support_target, row.data(), p);
            const double value = objective(task.query, task.query_target, column, p.warm.data(), dwarm.data());
            if (weight > 0) {
                for (index r = 0; r < d; ++r) {
                    const Scalar tanh_s = p.scale[std::size_t(r)] - Scalar(1);
                    dscale[std::size_t(r)] = dwarm[std::size_t(r)] * row[std::size_t(r)] * (Scalar(1) - tanh_s * tanh_s);
                }
                scale_.backward(theta_.data(), p.item.data(), p.item_hidden, dscale.data(), weight, gradient.data());
                shift_.backward(theta_.data() + scale_.size(), p.users.data(), p.users_hidden, dwarm.data(), weight,
                                gradient.data() + scale_.size());
            }
            return value;
        };
        return detail::fit_items<device>(theta_, tasks, validation, o, task_loss);
    }

private:
    static inline const std::string who = "meta_warm_up";

    // the values of one warm-up: the nets' inputs and hidden values, s, t and w
    struct pass {
        std::vector<Scalar> item, item_hidden, scale, users, users_hidden, shift, warm;
    };

    // p.warm = s * row + t for the item and the interactions of `support` (ratings `target`),
    // features in `theta`
    void forward(const Scalar* theta, const nn::batch<Scalar>& support, const Scalar* target, const Scalar* row,
                 pass& p) const {
        p.item.assign(std::size_t(scale_.inputs), Scalar(0));
        detail::add_features(tables_.item, tables_.dim, theta, support, 0, Scalar(1), p.item.data());
        scale_.forward(theta_.data(), p.item.data(), p.item_hidden, p.scale);
        for (auto& s : p.scale) s = Scalar(1) + std::tanh(s);
        p.users.assign(std::size_t(shift_.inputs), Scalar(0));
        const index n = tables_.user.inputs(tables_.dim);
        const Scalar share = Scalar(1) / Scalar(support.size());
        for (index j = 0; j < support.size(); ++j) {  // [mean x_j, mean y_j x_j, mean y_j]
            detail::add_features(tables_.user, tables_.dim, theta, support, j, share, p.users.data());
            detail::add_features(tables_.user, tables_.dim, theta, support, j, share * target[j], p.users.data() + n);
            p.users[std::size_t(2 * n)] += share * target[j];
        }
        shift_.forward(theta_.data() + scale_.size(), p.users.data(), p.users_hidden, p.shift);
        p.warm.resize(p.scale.size());
        for (std::size_t r = 0; r < p.warm.size(); ++r) p.warm[r] = p.scale[r] * row[r] + p.shift[r];
    }

    detail::item_tables tables_;
    detail::tanh_net<Scalar> scale_, shift_;
    index base_parameters_ = 0;
    std::vector<Scalar> theta_;  // the scaling net's, then the shifting net's
};

}  // namespace metarec::recsys
