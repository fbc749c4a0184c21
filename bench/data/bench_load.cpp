// metarec benchmark: loading a MovieLens-1M-sized data set (6,040 users, 3,706 items,
// 1,000,209 ratings) from the generic CSV format (load_csv) and from MovieLens 1M's `::`
// files (load_movielens_1m), parsed and indexed on one core; then make_split on the loaded
// data, so that the whole path from files to tasks is measured. The files are generated once
// per size, outside the timed loops, in a temporary directory removed at exit. Target: a
// load under 1 s.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

#include <metarec/data/data.hpp>

namespace {

namespace md = metarec::data;
namespace fs = std::filesystem;

// MovieLens 1M's shape
constexpr int users = 6040, items = 3706, min_ratings = 20, max_ratings = 2314;
constexpr std::int64_t ml1m_ratings = 1'000'209;
constexpr std::int64_t first_time = 956'703'932, last_time = 1'046'454'590;

// a text buffer written with to_chars
struct text {
    std::string s;
    text& operator<<(std::string_view v) {
        s += v;
        return *this;
    }
    text& operator<<(char c) {
        s += c;
        return *this;
    }
    text& operator<<(std::int64_t v) {
        char buffer[24];
        s.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, v).ptr);
        return *this;
    }
    void save(const fs::path& file) const { std::ofstream(file, std::ios::binary).write(s.data(), std::streamsize(s.size())); }
};

/// One generated data set, in both formats: `dir/csv/` (interactions.csv, users.csv,
/// items.csv) and `dir/ml-1m/` (ratings.dat, users.dat, movies.dat). Ratings are grouped by
/// user as in ratings.dat; per-user counts are log-normal (at least 20, at most 2,314, as in
/// MovieLens 1M), items are drawn without replacement from a Zipf-like popularity, ratings
/// follow MovieLens 1M's histogram. Titles hold commas (quoted in the CSV) and Latin-1 bytes.
struct corpus {
    fs::path dir;
    std::int64_t rows = 0;
    md::csv_files csv;

    explicit corpus(std::int64_t ratings) : rows(ratings) {
        dir = fs::temp_directory_path() / ("metarec-bench-load-" + std::to_string(::getpid()) + "-" + std::to_string(ratings));
        fs::create_directories(dir / "csv");
        fs::create_directories(dir / "ml-1m");
        std::mt19937_64 g(20030201);
        std::uniform_real_distribution<double> uniform(0, 1);
        std::normal_distribution<double> normal(0, 1.1);

        // ratings per user: 20 + a log-normal share of the rest, capped, summing to `ratings`
        std::vector<std::int64_t> count(users, min_ratings);
        std::vector<double> weight(users);
        for (auto& w : weight) w = std::exp(normal(g));
        const double total_weight = std::accumulate(weight.begin(), weight.end(), 0.0);
        const std::int64_t extra = ratings - std::int64_t(users) * min_ratings;
        for (int u = 0; u < users; ++u)
            count[u] = std::min<std::int64_t>(max_ratings, min_ratings + std::int64_t(double(extra) * weight[u] / total_weight));
        for (std::int64_t left = ratings - std::accumulate(count.begin(), count.end(), std::int64_t(0)); left > 0;)
            for (int u = 0; u < users && left > 0; ++u)
                if (count[u] < max_ratings) ++count[u], --left;

        // ids with MovieLens 1M's gaps (movie ids up to 3,952)
        const auto movie_id = [](int k) { return std::int64_t(1) + std::int64_t(k) * 3952 / items; };
        std::vector<double> popularity(items);
        for (int k = 0; k < items; ++k) popularity[k] = 1.0 / std::pow(k + 10.0, 0.9);
        std::shuffle(popularity.begin(), popularity.end(), g);

        static constexpr double rating_share[] = {0.056, 0.108, 0.261, 0.349, 0.226};
        std::discrete_distribution<int> rating_of(std::begin(rating_share), std::end(rating_share));
        text dat, csv_rows;
        dat.s.reserve(std::size_t(ratings) * 26);
        csv_rows.s.reserve(std::size_t(ratings) * 24);
        csv_rows << "user,item,rating,timestamp\n";
        std::vector<std::pair<double, int>> keys(items);
        for (int u = 0; u < users; ++u) {
            // weighted sampling without replacement: the smallest exponential keys -log(U) / w
            for (int k = 0; k < items; ++k) keys[k] = {-std::log(1 - uniform(g)) / popularity[k], k};
            const auto n = std::size_t(count[u]);
            std::nth_element(keys.begin(), keys.begin() + std::ptrdiff_t(n) - 1, keys.end());
            const std::int64_t start = first_time + std::int64_t(uniform(g) * double(last_time - first_time) * 0.9);
            for (std::size_t r = 0; r < n; ++r) {
                const std::int64_t user = u + 1, item = movie_id(keys[r].second), rating = rating_of(g) + 1;
                const std::int64_t time = start + std::int64_t(uniform(g) * double(last_time - start));
                dat << user << "::" << item << "::" << rating << "::" << time << '\n';
                csv_rows << user << ',' << item << ',' << rating << ',' << time << '\n';
            }
        }
        dat.save(dir / "ml-1m" / "ratings.dat");
        csv_rows.save(dir / "csv" / "interactions.csv");

        // users: gender, age group, occupation, zip code (some ZIP+4)
        static constexpr std::int64_t ages[] = {1, 18, 25, 35, 45, 50, 56};
        text users_dat, users_csv;
        users_csv << "user,gender,age,occupation,zip\n";
        for (int u = 0; u < users; ++u) {
            const char gender = uniform(g) < 0.72 ? 'M' : 'F';
            const std::int64_t age = ages[std::size_t(uniform(g) * 7)], occupation = std::int64_t(uniform(g) * 21);
            std::string zip = std::to_string(10000 + std::int64_t(uniform(g) * 89999));
            if (uniform(g) < 0.01) zip += "-" + std::to_string(1000 + std::int64_t(uniform(g) * 8999));
            users_dat << std::int64_t(u + 1) << "::" << gender << "::" << age << "::" << occupation << "::" << zip << '\n';
            users_csv << std::int64_t(u + 1) << ',' << gender << ',' << age << ',' << occupation << ',' << zip << '\n';
        }
        users_dat.save(dir / "ml-1m" / "users.dat");
        users_csv.save(dir / "csv" / "users.csv");

        // movies: "Title, The (year)" with some Latin-1, 1 to 3 of the 18 genres
        static constexpr std::string_view genres[] = {"Action",   "Adventure", "Animation", "Children's", "Comedy",    "Crime",
                                                      "Documentary", "Drama", "Fantasy",   "Film-Noir",  "Horror",    "Musical",
                                                      "Mystery",  "Romance",   "Sci-Fi",    "Thriller",   "War",       "Western"};
        text movies_dat, items_csv;
        items_csv << "item,title,year,genre\n";
        for (int k = 0; k < items; ++k) {
            const std::int64_t year = 1919 + std::int64_t(std::pow(uniform(g), 0.3) * 81);
            std::string title = "Movie " + std::to_string(k + 1);
            if (k % 7 == 0) title += ", The";
            if (k % 31 == 0) title += " (a bient\xF4t)";
            title += " (" + std::to_string(year) + ")";
            std::string genre;
            for (int n = 1 + int(uniform(g) * 3), i = 0; i < n; ++i) {
                const auto pick = genres[std::size_t(uniform(g) * 18)];
                if (genre.find(pick) != std::string::npos) continue;
                if (!genre.empty()) genre += '|';
                genre += pick;
            }
            movies_dat << movie_id(k) << "::" << title << "::" << genre << '\n';
            const bool quote = title.find(',') != std::string::npos;
            items_csv << movie_id(k) << ',' << (quote ? "\"" : "") << title << (quote ? "\"" : "") << ',' << year << ','
                      << genre << '\n';
        }
        movies_dat.save(dir / "ml-1m" / "movies.dat");
        items_csv.save(dir / "csv" / "items.csv");

        csv = {.interactions = dir / "csv" / "interactions.csv",
               .users = dir / "csv" / "users.csv",
               .items = dir / "csv" / "items.csv",
               .user_schema = "gender:cat,age:cat,occupation:cat,zip:cat",
               .item_schema = "year:num,genre:multi"};
    }
    corpus(const corpus&) = delete;
    corpus& operator=(const corpus&) = delete;
    ~corpus() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

// the corpus of a size, generated at first use, removed at exit
const corpus& corpus_of(std::int64_t rows) {
    static std::map<std::int64_t, std::unique_ptr<corpus>> made;
    auto& c = made[rows];
    if (!c) c = std::make_unique<corpus>(rows);
    return *c;
}

void check(benchmark::State& state, const md::dataset& d, std::int64_t rows) {
    if (std::int64_t(d.interactions.size()) != rows || d.users.rows() != users || d.items.rows() != items)
        state.SkipWithError("the loaded data set does not have the generated shape");
}

void load_csv(benchmark::State& state) {
    const auto& c = corpus_of(state.range(0));
    for (auto _ : state) {
        auto d = md::load_csv(c.csv);
        benchmark::DoNotOptimize(d.interactions.data());
        state.PauseTiming();
        check(state, d, c.rows);
        { [[maybe_unused]] auto freed = std::move(d); }  // freeing is not loading
        state.ResumeTiming();
    }
    state.counters["rows_per_second"] = benchmark::Counter(double(c.rows), benchmark::Counter::kIsIterationInvariantRate);
}

void load_movielens_1m(benchmark::State& state) {
    const auto& c = corpus_of(state.range(0));
    for (auto _ : state) {
        auto d = md::load_movielens_1m(c.dir / "ml-1m");
        benchmark::DoNotOptimize(d.interactions.data());
        state.PauseTiming();
        check(state, d, c.rows);
        { [[maybe_unused]] auto freed = std::move(d); }
        state.ResumeTiming();
    }
    state.counters["rows_per_second"] = benchmark::Counter(double(c.rows), benchmark::Counter::kIsIterationInvariantRate);
}

// MeLU's split (users with 13..100 ratings, 10 query ratings) of the loaded MovieLens 1M files
template <md::scenario Scenario>
void split(benchmark::State& state) {
    const auto d = md::load_movielens_1m(corpus_of(state.range(0)).dir / "ml-1m");
    md::split_options options;
    options.scenario = Scenario;
    std::size_t tasks = 0;
    for (auto _ : state) {
        const auto s = md::make_split(d, options);
        tasks = s.train.size() + s.validation.size() + s.test.size();
        benchmark::DoNotOptimize(tasks);
    }
    state.counters["rows_per_second"] =
        benchmark::Counter(double(d.interactions.size()), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["tasks"] = double(tasks);
}

}  // namespace

BENCHMARK(load_csv)->Name("load/csv")->ArgName("rows")->Arg(ml1m_ratings)->Unit(benchmark::kMillisecond);
BENCHMARK(load_movielens_1m)->Name("load/movielens_1m")->ArgName("rows")->Arg(ml1m_ratings)->Unit(benchmark::kMillisecond);
BENCHMARK(split<md::scenario::new_users>)->Name("split/new_users")->ArgName("rows")->Arg(ml1m_ratings)->Unit(benchmark::kMillisecond);
BENCHMARK(split<md::scenario::warm>)->Name("split/warm")->ArgName("rows")->Arg(ml1m_ratings)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
