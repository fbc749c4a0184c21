// metarec example: few-shot sinusoid regression. Compares, on the same 1,000 fresh test
// tasks, a jointly pre-trained network fine-tuned on the support set with MAML (orders 1
// and 2), Reptile and Meta-SGD: query MSE after 1 and 10 adaptation steps.
// SPDX-License-Identifier: Apache-2.0
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "coldstart/flags.hpp"
#include "sinusoid.hpp"

int main(int argc, char** argv) {
    sinusoid::config c;
    std::string json_path;
    bool quiet = false;
    CLI::App app{"Few-shot sinusoid regression: pre-training + fine-tuning vs MAML, Reptile, Meta-SGD"};
    namespace flags = coldstart::flags;
    app.add_option("--iterations", c.iterations, "meta-steps of every method")
        ->check(flags::at_least(1))->capture_default_str();
    app.add_option("--meta-batch", c.meta_batch, "tasks per meta-step")
        ->check(flags::at_least<metarec::index>(1))->capture_default_str();
    app.add_option("--train-tasks", c.train_tasks, "training task pool")
        ->check(flags::at_least(1))->capture_default_str();
    app.add_option("--test-tasks", c.test_tasks, "fresh test tasks")->check(flags::at_least(1))->capture_default_str();
    app.add_option("--threads", c.threads, "threads over the tasks of a meta-batch")
        ->check(flags::at_least(1))->capture_default_str();
    app.add_option("--seed", c.seed, "seed of tasks, initialization and sampling")
        ->check(flags::at_least<std::uint64_t>(0))->capture_default_str();
    app.add_option("--json", json_path, "also write the results as JSON to this file");
    app.add_flag("--quiet", quiet, "print only the table");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "sinusoid: %s\n", coldstart::flags::message(e).c_str());
        return 2;
    }

    if (!quiet)
        std::fprintf(stderr, "sinusoid: %d meta-steps x %td tasks per method, %d threads, seed %llu\n", c.iterations,
                     c.meta_batch, c.threads, static_cast<unsigned long long>(c.seed));
    const auto rows = sinusoid::run<metarec::callbacks::progress_bar>(c, [&](const std::string& name) {
        if (!quiet) std::fprintf(stderr, "%s\n", name.c_str());
        return metarec::callbacks::progress_bar{.quiet = quiet};
    });

    std::printf("\nquery MSE on %d fresh test tasks (%td-shot support)\n\n", c.test_tasks, c.support);
    // a method whose adaptation diverges on some tasks shows NaN/inf and how many tasks
    const auto cell = [](double mse, metarec::index diverged) {
        char text[64];
        if (diverged == 0)
            std::snprintf(text, sizeof text, "%.4f", mse);
        else
            std::snprintf(text, sizeof text, "diverged on %td", diverged);
        return std::string(text);
    };
    std::printf("| %-10s | %-17s | %-17s | %9s |\n", "method", "mse@1", "mse@10", "train s");
    std::printf("|------------|-------------------|-------------------|-----------|\n");
    for (const auto& r : rows)
        std::printf("| %-10s | %-17s | %-17s | %9.1f |\n", r.name.c_str(), cell(r.mse_1, r.diverged_1).c_str(),
                    cell(r.mse_10, r.diverged_10).c_str(), r.train_seconds);

    if (!json_path.empty()) {
        nlohmann::json out;
        out["config"] = {{"iterations", c.iterations}, {"meta_batch", c.meta_batch}, {"test_tasks", c.test_tasks},
                         {"support", c.support},       {"seed", c.seed},             {"threads", c.threads}};
        for (const auto& r : rows)
            out["results"].push_back({{"name", r.name},
                                      {"mse@1", r.diverged_1 ? nlohmann::json(nullptr) : nlohmann::json(r.mse_1)},
                                      {"mse@10", r.diverged_10 ? nlohmann::json(nullptr) : nlohmann::json(r.mse_10)},
                                      {"diverged@1", r.diverged_1},
                                      {"diverged@10", r.diverged_10},
                                      {"train_seconds", r.train_seconds}});
        std::ofstream file(json_path);
        if (!(file << out.dump(2) << '\n')) {
            std::fprintf(stderr, "sinusoid: cannot write %s\n", json_path.c_str());
            return 2;
        }
    }
    return 0;
}
