// metarec: line charts as self-contained SVG files (accuracy against the number of shots,
// training curves), written without any plotting library.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metarec::io {

/// One line of a chart: points (x[i], y[i]); a non-finite y (a metric undefined there) breaks
/// the line, and the point is not drawn.
struct chart_series {
    std::string name{};            //!< the legend's text
    std::vector<double> x{};  //!< the points' abscissae
    std::vector<double> y{};  //!< the points' ordinates, as many as x
    bool dashed = false;           //!< drawn dashed (e.g. the baselines next to the methods)
};

/// A line chart: axes with round ticks, one coloured line with markers per series, a legend.
///
/// The y axis spans the finite values, widened to round tick steps (1, 2 or 5 times a power
/// of ten). With `log_x`, x is on a logarithmic scale with a tick at every x of the data (the
/// numbers of shots 1, 2, 5, 10, 20 fall evenly); otherwise x has round ticks as y has.
/// Colours follow the Okabe-Ito palette (distinguishable with colour-vision deficiencies) and
/// two of Paul Tol's (wine, olive): ten, in the order of the series, then repeat.
struct line_chart {
    std::string title{};                 //!< above the plot
    std::string x_label{};               //!< the x axis' name
    std::string y_label{};               //!< the y axis' name
    std::vector<chart_series> series{};  //!< the lines, drawn and listed in this order
    bool log_x = false;                  //!< logarithmic x axis (every x must then be positive)
    int width = 760;                     //!< pixels
    int height = 440;                    //!< pixels
};

namespace detail {

//! text for an SVG text node or attribute
inline std::string svg_escape(std::string_view text) {
    std::string out;
    for (char c : text) switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                out += c;
        }
    return out;
}

//! a coordinate or a tick label: at most 6 significant digits, no trailing zeros
inline std::string svg_number(double value) {
    if (std::abs(value) < 1e-12) value = 0;  // -0 and rounding residue of tick steps
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value);
    return text;
}

//! round ticks (1, 2 or 5 times a power of ten) covering [low, high]
inline std::vector<double> round_ticks(double low, double high, int wanted = 5) {
    const double raw = (high - low) / wanted;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    double step = power;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * power >= raw) {
            step = m * power;
            break;
        }
    std::vector<double> ticks;
    for (double t = std::floor(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push_back(t);
    if (ticks.back() < high) ticks.push_back(ticks.back() + step);
    return ticks;
}

}  // namespace detail

/// The chart as an SVG document (UTF-8, with the XML declaration), viewable in a browser.
/// @throws std::invalid_argument when a series has a different number of x and y, an x is
///         not finite (or not positive with `log_x`), no series has a finite point, or the
///         size is below 200 x 150 pixels
inline std::string to_svg(const line_chart& chart) {
    if (chart.width < 200 || chart.height < 150)
        throw std::invalid_argument("metarec: to_svg: a chart needs at least 200 x 150 pixels");
    double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low, y_low = x_low, y_high = -x_low;
    std::vector<double> xs;  // every x of the data (the ticks of a log axis)
    for (const auto& s : chart.series) {
        if (s.x.size() != s.y.size())
            throw std::invalid_argument("metarec: to_svg: series '" + s.name + "' has " + std::to_string(s.x.size()) +
                                        " x and " + std::to_string(s.y.size()) + " y values");
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            if (!std::isfinite(s.x[i]) || (chart.log_x && s.x[i] <= 0))
                throw std::invalid_argument("metarec: to_svg: series '" + s.name + "' has the x value " +
                                            detail::svg_number(s.x[i]) + (chart.log_x ? " on a logarithmic axis" : ""));
            if (!std::isfinite(s.y[i])) continue;
            x_low = std::min(x_low, s.x[i]);
            x_high = std::max(x_high, s.x[i]);
            y_low = std::min(y_low, s.y[i]);
            y_high = std::max(y_high, s.y[i]);
            xs.push_back(s.x[i]);
        }
    }
    if (xs.empty()) throw std::invalid_argument("metarec: to_svg: '" + chart.title + "' has no finite point");

    // the axes' ranges and ticks
    if (y_high - y_low <= 1e-12 * std::max(1.0, std::abs(y_high))) {
        const double pad = std::max(std::abs(y_high) * 0.05, 1e-3);
        y_low -= pad;
        y_high += pad;
    }
    const auto y_ticks = detail::round_ticks(y_low, y_high);
    y_low = y_ticks.front();
    y_high = y_ticks.back();
    std::vector<double> x_ticks;
    if (chart.log_x) {
        std::sort(xs.begin(), xs.end());
        xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
        if (xs.size() <= 12) {
            x_ticks = xs;
        } else {
            for (double t = std::pow(10.0, std::floor(std::log10(x_low))); t <= x_high * (1 + 1e-9); t *= 10)
                x_ticks.push_back(t);
        }
        if (x_high / x_low < 1.5) {
            x_low /= 1.5;
            x_high *= 1.5;
        }
    } else {
        if (x_high - x_low <= 1e-12 * std::max(1.0, std::abs(x_high))) {
            x_low -= 1;
            x_high += 1;
        }
        x_ticks = detail::round_ticks(x_low, x_high);
        x_low = x_ticks.front();
        x_high = x_ticks.back();
    }

    // the plot area: room for the title, the axes' labels and the legend on the right
    const double left = 72, top = 44, right = chart.width - 190.0, bottom = chart.height - 56.0;
    const auto to_x = [&](double x) {
        const double f = chart.log_x ? std::log(x / x_low) / std::log(x_high / x_low) : (x - x_low) / (x_high - x_low);
        return left + f * (right - left);
    };
    const auto to_y = [&](double y) { return bottom - (y - y_low) / (y_high - y_low) * (bottom - top); };
    const auto n = detail::svg_number;
    static constexpr const char* palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                              "#56B4E9", "#000000", "#999999", "#882255", "#999933"};

    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(chart.width) + "\" height=\"" +
           std::to_string(chart.height) + "\" viewBox=\"0 0 " + std::to_string(chart.width) + " " +
           std::to_string(chart.height) +
           "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n";
    out += "<title>" + detail::svg_escape(chart.title) + "</title>\n";
    out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
    out += "<text x=\"" + n((left + right) / 2) +
           "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" +
           detail::svg_escape(chart.title) + "</text>\n";
    // grid and ticks
    out += "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n";
    for (double t : y_ticks)
        out += "<line x1=\"" + n(left) + "\" y1=\"" + n(to_y(t)) + "\" x2=\"" + n(right) + "\" y2=\"" + n(to_y(t)) +
               "\"/>\n";
    for (double t : x_ticks)
        out += "<line x1=\"" + n(to_x(t)) + "\" y1=\"" + n(top) + "\" x2=\"" + n(to_x(t)) + "\" y2=\"" + n(bottom) +
               "\"/>\n";
    out += "</g>\n<g fill=\"#333333\">\n";
    for (double t : y_ticks)
        out += "<text x=\"" + n(left - 8) + "\" y=\"" + n(to_y(t) + 4) + "\" text-anchor=\"end\">" + n(t) + "</text>\n";
    for (double t : x_ticks)
        out +=
            "<text x=\"" + n(to_x(t)) + "\" y=\"" + n(bottom + 18) + "\" text-anchor=\"middle\">" + n(t) + "</text>\n";
    out += "</g>\n";
    out += "<rect x=\"" + n(left) + "\" y=\"" + n(top) + "\" width=\"" + n(right - left) + "\" height=\"" +
           n(bottom - top) + "\" fill=\"none\" stroke=\"#333333\"/>\n";
    out += "<text x=\"" + n((left + right) / 2) + "\" y=\"" + n(chart.height - 14.0) + "\" text-anchor=\"middle\">" +
           detail::svg_escape(chart.x_label) + "</text>\n";
    out += "<text transform=\"translate(18 " + n((top + bottom) / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
           detail::svg_escape(chart.y_label) + "</text>\n";

    // the lines (a non-finite y ends a polyline), their markers, the legend
    for (std::size_t k = 0; k < chart.series.size(); ++k) {
        const auto& s = chart.series[k];
        const std::string colour = palette[k % std::size(palette)];
        const std::string stroke = "fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\"" +
                                   (s.dashed ? " stroke-dasharray=\"7 4\"" : "");
        out += "<g>\n";
        std::string points;
        const auto flush = [&] {
            if (!points.empty()) out += "<polyline " + stroke + " points=\"" + points + "\"/>\n";
            points.clear();
        };
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            if (!std::isfinite(s.y[i])) {
                flush();
                continue;
            }
            points += (points.empty() ? "" : " ") + n(to_x(s.x[i])) + "," + n(to_y(s.y[i]));
        }
        flush();
        for (std::size_t i = 0; i < s.x.size(); ++i)
            if (std::isfinite(s.y[i]))
                out += "<circle cx=\"" + n(to_x(s.x[i])) + "\" cy=\"" + n(to_y(s.y[i])) + "\" r=\"3\" fill=\"" +
                       colour + "\"><title>" + detail::svg_escape(s.name) + ": " + n(s.x[i]) + ", " + n(s.y[i]) +
                       "</title></circle>\n";
        const double ly = top + 10 + 20.0 * double(k);
        out += "<line x1=\"" + n(right + 14) + "\" y1=\"" + n(ly) + "\" x2=\"" + n(right + 42) + "\" y2=\"" + n(ly) +
               "\" " + stroke + "/>\n";
        out += "<text x=\"" + n(right + 48) + "\" y=\"" + n(ly + 4) + "\">" + detail::svg_escape(s.name) + "</text>\n";
        out += "</g>\n";
    }
    out += "</svg>\n";
    return out;
}

/// Writes to_svg(chart) to `path` (created or truncated).
/// @throws std::invalid_argument as to_svg(); std::runtime_error naming the path when the
///         file cannot be written
inline void write_svg(const std::filesystem::path& path, const line_chart& chart) {
    const auto text = to_svg(chart);
    std::ofstream file(path, std::ios::binary);
    if (!(file << text) || !file.flush()) throw std::runtime_error("metarec: write_svg: cannot write " + path.string());
}

}  // namespace metarec::io
