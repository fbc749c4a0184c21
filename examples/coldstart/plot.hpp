// metarec-coldstart --plot DIR: the report's figures as self-contained SVG files (io::to_svg):
// every metric against the number of shots (with --shots) and each training run's curves.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <metarec/io/svg.hpp>

#include "coldstart.hpp"

namespace coldstart {

/// Records the mean meta-loss of every epoch (the training curve of --plot).
struct epoch_losses {
    std::vector<double>* losses;  //!< appended to at each epoch's end
    //! records the epoch's mean meta-loss
    void on_epoch_end(const mr::callbacks::epoch_info& info) const { losses->push_back(info.loss); }
};

/// Writes the figures of a report into `dir` (created) and returns their paths:
///  - `shots-mae.svg`, `shots-rmse.svg`, `shots-ndcg@10.svg` with --shots: the metric against the
///    number of shots, one line per row; the baselines (the rows that are not meta-learners,
///    `learners`) dashed;
///  - `training-<row>.svg` for every row trained with early stopping: the training meta-loss
///    and the validation loss per epoch.
/// @param title the report's first line (data set, scenario, model)
inline std::vector<std::filesystem::path> write_plots(const std::filesystem::path& dir, const std::vector<result>& rows,
                                                      const std::vector<std::string>& learners,
                                                      const std::string& title) {
    std::filesystem::create_directories(dir);
    std::vector<std::filesystem::path> written;
    const auto names = metrics().names();
    const std::vector<std::pair<std::string, std::string>> shown{
        {"mae", "MAE"}, {"rmse", "RMSE"}, {"ndcg@10", "nDCG@10"}};
    if (!rows.empty() && !rows.front().by_shots.empty())
        for (const auto& [key, label] : shown) {
            const auto m = std::size_t(std::find(names.begin(), names.end(), key) - names.begin());
            mr::io::line_chart chart{.title = label + " against the number of shots, " + title,
                                     .x_label = "shots: the first support interactions adapted on (" +
                                                std::to_string(rows.front().by_shots.front().tasks) + " test tasks)",
                                     .y_label = label + " on the query interactions",
                                     .log_x = true};
            for (const auto& r : rows) {
                mr::io::chart_series line{.name = r.name};
                line.dashed = std::find(learners.begin(), learners.end(), r.name) == learners.end();
                for (const auto& point : r.by_shots) {
                    line.x.push_back(double(point.shots));
                    line.y.push_back(point.values[m]);
                }
                chart.series.push_back(std::move(line));
            }
            written.push_back(dir / ("shots-" + key + ".svg"));
            mr::io::write_svg(written.back(), chart);
        }
    for (const auto& r : rows) {
        if (r.training_loss.empty()) continue;
        mr::io::line_chart chart{.title = r.name + ": training curves, " + title,
                                 .x_label = "epoch",
                                 .y_label = "loss (MSE)"};
        mr::io::chart_series train{.name = "training meta-loss"}, validation{.name = "validation loss"};
        for (std::size_t e = 0; e < r.training_loss.size(); ++e) {
            train.x.push_back(double(e + 1));
            train.y.push_back(r.training_loss[e]);
        }
        for (std::size_t e = 0; e < r.validation_loss.size(); ++e) {
            validation.x.push_back(double(e + 1));
            validation.y.push_back(r.validation_loss[e]);
        }
        chart.series.push_back(std::move(train));
        if (!validation.x.empty()) chart.series.push_back(std::move(validation));
        written.push_back(dir / ("training-" + r.name + ".svg"));
        mr::io::write_svg(written.back(), chart);
    }
    return written;
}

}  // namespace coldstart
