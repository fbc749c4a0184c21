// metarec tests: io::to_svg line charts: structure, coordinates, dashes, breaks, escaping, errors.
// (CI also renders the command's figures with rsvg-convert: examples/check_svg_render.cmake.)
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include <metarec/io/svg.hpp>

namespace io = metarec::io;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// every element opened is closed, in order (a small check of well-formedness; the render test
// parses with librsvg)
bool balanced(const std::string& svg) {
    std::vector<std::string> open;
    const std::regex tag("<(/?)([a-z]+)[^>]*?(/?)>");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator(); ++it) {
        const auto& m = *it;
        if (m[3] == "/") continue;  // <x/>
        if (m[1] == "/") {
            if (open.empty() || open.back() != m[2]) return false;
            open.pop_back();
        } else {
            open.push_back(m[2]);
        }
    }
    return open.empty();
}

io::line_chart shots_chart() {
    return {.title = "MAE against the number of shots",
            .x_label = "shots",
            .y_label = "MAE",
            .series = {{"maml", {1, 2, 5, 10}, {0.97, 0.91, 0.82, 0.80}},
                       {"support-mean", {1, 2, 5, 10}, {0.99, 0.94, 0.81, 0.82}, true}},
            .log_x = true};
}

}  // namespace

TEST_CASE("to_svg: a self-contained document with one line and four markers per series, the baseline dashed") {
    const auto svg = io::to_svg(shots_chart());
    CHECK(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
    CHECK(svg.find("</svg>\n") == svg.size() - 7);
    CHECK(balanced(svg));
    CHECK(count(svg, "<polyline") == 2);
    CHECK(count(svg, "<circle") == 8);
    CHECK(count(svg, "stroke-dasharray") == 2);  // the dashed line and its legend sample
    CHECK(count(svg, "#0072B2") == 4 + 1 + 1);   // markers, line, legend sample
    CHECK(svg.find("<title>MAE against the number of shots</title>") != std::string::npos);
    CHECK(svg.find(">support-mean</text>") != std::string::npos);
    // a log axis has a tick at every x of the data
    for (const char* tick : {">1</text>", ">2</text>", ">5</text>", ">10</text>"})
        CHECK(svg.find(tick) != std::string::npos);
    CHECK(svg.find("href") == std::string::npos);  // nothing external
}

TEST_CASE("to_svg: the extreme points sit on the plot's edges; log x spaces 1, 10, 100 evenly") {
    const io::line_chart chart{.series = {{"a", {1, 10, 100}, {0, 0.5, 1}}}, .log_x = true};
    const auto svg = io::to_svg(chart);
    const std::regex polyline("<polyline[^>]* points=\"([0-9.]+),([0-9.]+) ([0-9.]+),([0-9.]+) ([0-9.]+),([0-9.]+)\"");
    std::smatch m;
    REQUIRE(std::regex_search(svg, m, polyline));
    const double x0 = std::stod(m[1]), y0 = std::stod(m[2]), x1 = std::stod(m[3]), x2 = std::stod(m[5]),
                 y2 = std::stod(m[6]);
    CHECK(x0 == doctest::Approx(72));             // left edge
    CHECK(x2 == doctest::Approx(760 - 190));      // right edge
    CHECK(x1 == doctest::Approx((x0 + x2) / 2));  // 10 halfway on a log scale
    CHECK(y0 == doctest::Approx(440 - 56));       // y = 0 at the bottom (0 and 1 are round ticks)
    CHECK(y2 == doctest::Approx(44));             // y = 1 at the top
    // linear x: 10 is not halfway between 1 and 100
    auto linear = chart;
    linear.log_x = false;
    const auto linear_svg = io::to_svg(linear);
    REQUIRE(std::regex_search(linear_svg, m, polyline));
    CHECK(std::stod(m[3]) < (std::stod(m[1]) + std::stod(m[5])) / 2 - 100);
}

TEST_CASE("to_svg: a non-finite y breaks the line; names are escaped; a flat series still draws") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const io::line_chart chart{.title = "a < b & \"c\"",
                               .series = {{"x<y", {1, 2, 3, 4, 5}, {1, 2, nan, 4, 5}}, {"flat", {1, 5}, {3, 3}}}};
    const auto svg = io::to_svg(chart);
    CHECK(balanced(svg));
    CHECK(count(svg, "<polyline") == 3);
    CHECK(count(svg, "<circle") == 6);
    CHECK(svg.find("a &lt; b &amp; &quot;c&quot;") != std::string::npos);
    CHECK(svg.find(">x&lt;y</text>") != std::string::npos);
    CHECK(svg.find("nan") == std::string::npos);
    CHECK(svg.find("inf") == std::string::npos);
    CHECK(io::to_svg({.series = {{"one point", {3}, {0.5}}}, .log_x = true}).find("<circle") != std::string::npos);
}

TEST_CASE("to_svg: bad charts are refused with the reason") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(io::to_svg({.series = {{"a", {1, 2}, {1}}}}),
                         "metarec: to_svg: series 'a' has 2 x and 1 y values", std::invalid_argument);
    CHECK_THROWS_WITH_AS(io::to_svg({.series = {{"a", {0, 1}, {1, 2}}}, .log_x = true}),
                         "metarec: to_svg: series 'a' has the x value 0 on a logarithmic axis", std::invalid_argument);
    CHECK_THROWS_WITH_AS(io::to_svg({.title = "t", .series = {{"a", {1}, {nan}}}}),
                         "metarec: to_svg: 't' has no finite point", std::invalid_argument);
    CHECK_THROWS_AS(io::to_svg({.series = {{"a", {1}, {1}}}, .width = 100}), std::invalid_argument);
}

TEST_CASE("write_svg: writes the document; an unwritable path is a runtime_error naming it") {
    const auto path = std::filesystem::temp_directory_path() / "metarec_test_svg.svg";
    io::write_svg(path, shots_chart());
    std::ifstream file(path);
    const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    CHECK(text == io::to_svg(shots_chart()));
    std::filesystem::remove(path);
    CHECK_THROWS_WITH_AS(io::write_svg("/nonexistent/dir/a.svg", shots_chart()),
                         "metarec: write_svg: cannot write /nonexistent/dir/a.svg", std::runtime_error);
}
