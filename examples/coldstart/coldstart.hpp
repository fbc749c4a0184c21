// metarec-coldstart: meta-train a recommender on warm users, adapt it to new ones, and compare
// it with the simple alternatives. The parts shared by the command's translation units.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <metarec/data/dataset.hpp>
#include <metarec/data/split.hpp>
#include <metarec/eval/average.hpp>
#include <metarec/eval/intervals.hpp>
#include <metarec/eval/metrics.hpp>
#include <metarec/io/configuration.hpp>
#include <metarec/recsys/baselines.hpp>
#include <metarec/recsys/features.hpp>

#include "data_source.hpp"
#ifdef METAREC_COLDSTART_MPI
#include <metarec/dist/mpi.hpp>
#else
#include <metarec/dist/none.hpp>
#endif

namespace coldstart {

namespace mr = metarec;

/// Everything the command line sets.
struct config {
    // data (see data_source.hpp)
    data_source data;
    // split
    mr::data::split_options split{};
    // model and training
    std::string model = "auto";  //!< melu, two-tower or mf; auto until choose_model() resolves it
    bool warm_start = true;  //!< meta-learning starts from the pre-trained (fine-tune) model
    bool item_id = false;  //!< the item's id is one more item feature (set when no item is new)
    bool residual = false;  //!< --residual on: models learn the residual of the bias model (recsys/residual.hpp)
    bool item_factors = true;  //!< --mf-init als: matrix factorization starts from ALS item factors (recsys/item_factors.hpp)
    std::string id_warmup = "none";  //!< --id-warmup metaemb, mwuf: also the item-id model with generated (and MWUF's) rows (id_warmup.hpp)
    std::vector<std::string> algorithms{"all"};
    int inner_steps = 5;
    int tune = 0;  //!< --tune N: configurations tried per method on the validation tasks (0: the flags' only)
    double inner_lr = 0.01;
    double outer_lr = 1e-3;
    int epochs = 30;
    int patience = 5;
    mr::index meta_batch = 32;
    int threads = int(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));  //!< results do not depend on it
    std::uint64_t seed = 1;
    bool quiet = false;
    bool distributed = false;  //!< --distributed mpi: meta-batches spread over the ranks of MPI_COMM_WORLD
    // reliability
    std::string save;            //!< --save MODEL: the meta-learned model of the one --algo, for metarec-serve
    std::string checkpoint_dir;  //!< --checkpoint DIR: DIR/<model>-<algorithm>.ckpt during training
    std::int64_t checkpoint_every = 50;  //!< meta-steps between checkpoints
    bool resume = false;         //!< --resume: continue from the checkpoints in checkpoint_dir
    // learning while serving (--split time --stream K): the test tasks in K periods of arrival
    int stream = 0;            //!< periods (0: no stream)
    double stream_passes = 2;  //!< update()'s passes over each period's new tasks
    mr::index replay = 256;    //!< update()'s replay buffer
    // reporting
    std::vector<mr::index> shots;  //!< --shots: support sizes of the accuracy-against-shots curves (shots.hpp)
    std::string plot_dir;          //!< --plot DIR: the report's figures as SVG files (plot.hpp)
};

#ifdef METAREC_COLDSTART_MPI
/// Built with MPI: every algorithm is data-parallel over MPI_COMM_WORLD with --distributed
/// mpi, over MPI_COMM_SELF (one process) without.
using distribution = mr::dist::mpi;
inline distribution make_distribution(const config& c) { return distribution(c.distributed ? MPI_COMM_WORLD : MPI_COMM_SELF); }
#else
using distribution = mr::dist::none;
inline distribution make_distribution(const config&) { return {}; }
#endif

/// The metrics of every report, averaged per task (per user: MeLU's protocol), on the rating
/// scale of the training data: nDCG's gains start at 1 at the scale's lowest rating, and the
/// relevant items of the hit rate, recall and AUC are those rated at least three quarters up
/// the scale (4 on 1..5); see mr::eval::rating_scale.
using metrics = mr::eval::task_average<mr::eval::mae, mr::eval::rmse, mr::eval::ndcg<1>, mr::eval::ndcg<3>,
                                       mr::eval::ndcg<5>, mr::eval::ndcg<10>, mr::eval::hit_rate<3>,
                                       mr::eval::recall<3>, mr::eval::auc>;

/// One point of a row's accuracy-against-shots curve (--shots, shots.hpp).
struct shot_values {
    mr::index shots = 0;         //!< support interactions each test task was adapted from
    mr::index tasks = 0;         //!< test tasks evaluated (the same for every row and point)
    std::vector<double> values;  //!< one per metric, in metrics' order
    mr::index diverged = 0;
};

//! an empty average of the report's metrics on `scale`
inline metrics make_metrics(const mr::eval::rating_scale& scale) {
    const double lowest = scale.lowest, threshold = scale.threshold();
    return metrics({}, {}, {.lowest = lowest}, {.lowest = lowest}, {.lowest = lowest}, {.lowest = lowest},
                   {.threshold = threshold}, {.threshold = threshold}, {.threshold = threshold});
}

/// One period of --stream: its new tasks, evaluated (adapted on their support sets) by the model
/// frozen after meta-training and by the streamed one, before the latter learns from them.
struct stream_period {
    mr::index tasks = 0;                   //!< the period's new tasks
    std::vector<double> frozen, streamed;  //!< each task's MAE under the frozen and the streamed model
    mr::eval::interval difference{};       //!< streamed - frozen: the paired bootstrap's mean and 95 % interval
    std::int64_t update_steps = 0;         //!< meta-steps of the update() on the period's tasks, after evaluating
    double update_seconds = 0;             //!< its wall time
};

/// What a report row is: the paired comparisons set meta-learners against the others.
enum class role {
    meta,      //!< a meta-learning algorithm
    transfer,  //!< the pre-trained model, fine-tuned (fine-tune) or not adapted (no-adapt)
    warmup,    //!< a new item's id row generated and warmed up (--id-warmup: metaemb, mwuf)
    baseline,  //!< a simple baseline (global, user's or item mean, the bias model)
};

/// One row of the report: a meta-learning algorithm or a baseline.
struct result {
    std::string name;
    std::vector<double> values;  //!< one mean per metric, in metrics' order
    std::vector<mr::index> counts;
    mr::index diverged = 0;
    double train_seconds = 0;
    coldstart::role role = role::baseline;
    std::vector<std::vector<double>> per_task;  //!< per metric, the value on each test task (in split order)
    std::string config{};  //!< the training configuration (learned rows; --tune chooses it)
    std::vector<shot_values> by_shots;  //!< --shots: one point per number of shots
    //! the training run's mean meta-loss and validation loss (early stopping) per epoch, for --plot
    std::vector<double> training_loss, validation_loss;
    std::vector<stream_period> stream;  //!< --stream: the periods, in order of arrival
};

//! a report row from a filled average
inline result make_result(std::string name, const metrics& average, double seconds, role r) {
    std::vector<std::vector<double>> per_task;
    for (std::size_t m = 0; m < average.names().size(); ++m) per_task.push_back(average.values(m));
    return {std::move(name), average.means(), average.counts(), average.diverged(), seconds, r, std::move(per_task)};
}

/// What every model runner receives: the data, the split, and how to report progress.
struct problem {
    const config& options;
    const mr::data::dataset& data;
    const mr::data::split& split;
    mr::eval::rating_scale scale;  //!< of the training ratings: how the ranking metrics read ratings
    const mr::recsys::bias_model* residual = nullptr;  //!< --residual on: the biases the models are residual to
    const mr::recsys::bias_model* bias = nullptr;      //!< the tuned bias model, training users' and items' biases known
    std::function<void(const std::string&)> announce;  //!< prints "training <name>" unless quiet
    //! where the models read the warm interactions (biases, item factors): the same problem
    //! with them fitted without the validation tasks' users (items), on which each method's
    //! configuration and epochs are chosen before it is trained on all (run_selected)
    const problem* selection = nullptr;
};

/// The rows for the algorithms chosen in `options.algorithms`, plus the `no-adapt` and
/// `fine-tune` baselines, for one model type. One per translation unit (their
/// instantiations are heavy, so they compile in parallel).
std::vector<result> run_melu(const problem&);
std::vector<result> run_two_tower(const problem&);
std::vector<result> run_matrix_factorization(const problem&);

/// `--model auto`: matrix factorization started from item factors (`mf`) where that model
/// applies: ratings, every item warm (it has a row), a task per user or per field value, and
/// nothing that needs MeLU (`--save` for serve_new_user, `--algo anil`, `--id-warmup`); MeLU
/// everywhere else (new items, tasks per item, implicit feedback). Any other `flag` is kept.
/// docs/results.md measures why: with all the warm data, MF from item factors beats the bias
/// model on new users where MeLU ties it.
inline std::string choose_model(const std::string& flag, const config& c, bool implicit_feedback) {
    if (flag != "auto") return flag;
    const bool items_new = c.split.scenario == mr::data::scenario::new_items ||
                           c.split.scenario == mr::data::scenario::new_users_new_items;
    const bool needs_melu = !c.save.empty() || c.id_warmup != "none" ||
                            std::find(c.algorithms.begin(), c.algorithms.end(), "anil") != c.algorithms.end();
    return implicit_feedback || items_new || c.split.group == mr::data::task_group::item || needs_melu ? "melu" : "mf";
}

/// What a saved model's file records beside its parameters (--save): the features
/// (`encoder.configuration()`) and what serve_new_user must find again (`coldstart.*`): the
/// model, the algorithm (which slice adapts, and how), the adaptation's rate and steps.
inline mr::io::configuration describe_model(const config& c, const std::string& dataset,
                                            const mr::recsys::feature_encoder& encoder, const std::string& algorithm,
                                            bool item_id, double inner_lr, int inner_steps) {
    auto description = encoder.configuration();
    description.set("coldstart.model", c.model);
    description.set("coldstart.algorithm", algorithm);
    description.set("coldstart.item_id", item_id ? "on" : "off");
    description.set("coldstart.inner_lr", std::to_string(inner_lr));
    description.set("coldstart.inner_steps", std::to_string(inner_steps));
    description.set("coldstart.dataset", dataset);
    return description;
}

/// The algorithm names `--algo all` expands to, in report order.
inline std::vector<std::string> all_algorithms(const std::string& model) {
    if (model == "melu") return {"maml", "fomaml", "reptile", "meta-sgd", "anil"};
    return {"maml", "fomaml", "reptile", "meta-sgd"};
}

}  // namespace coldstart
