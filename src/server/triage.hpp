// The order and the small pictures of `serve`'s index, a triage list: the targets that leak
// first, then the bounded, the healthy and the undecided; within a verdict, the one that reaches
// its memory limit soonest first (a target with no projection after those with one), then the
// fastest growth. Each row carries its RSS as a sparkline, an inline SVG with no external asset.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace leakhunt::server {

// 0 for "leak", 1 "bounded", 2 "healthy", 3 "inconclusive", 4 anything else (no verdict yet).
int severity_rank(const nlohmann::json& verdict);

// Sorts rows of the target list (objects with "verdict", "seconds_to_limit" and
// "growth_bytes_per_hour", each a value or null) by severity, as above; stable.
void sort_by_severity(nlohmann::json& rows);

// At most 2 * `buckets` (t, value) points of a series for a sparkline: the lowest and highest
// value of each of `buckets` spans of time (series::min_max_indices), NaN values left out.
std::vector<std::pair<double, double>> sparkline_points(std::span<const double> t,
                                                        std::span<const double> values,
                                                        size_t buckets = 40);

// The points as an inline <svg> `width` x `height` pixels: a polyline from the first time to the
// last, scaled between the lowest and the highest value, over at least 5% of the highest (so a
// steady series reads as a nearly flat line in the middle, not as a zigzag filling the box). Empty
// when there are fewer than two points. Holds numbers only, no text of the input.
std::string sparkline_svg(const std::vector<std::pair<double, double>>& points, int width = 120,
                          int height = 24);

}  // namespace leakhunt::server
