// Min/max downsampling of a series for drawing: a page that draws 10M samples as 10M line
// segments is hundreds of MB and takes half a minute to open, while a chart shows at most a few
// thousand pixel columns. Each of `buckets` equal spans of time keeps the sample where the main
// column is lowest and the one where it is highest (in time order), so spikes and dips stay
// visible; the first and the last sample are always kept. The analysis (the verdict, the fits)
// always reads the full series; only what is drawn is reduced.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace leakhunt::series {

// Indices into t (ascending, no repeats) of the samples to draw. `main` is as long as t; NaN
// values are skipped (a bucket of only NaN keeps its first sample, so gaps stay gaps). Returns
// every index when t has at most 2 * buckets samples. `buckets` must be at least 1.
std::vector<size_t> min_max_indices(std::span<const double> t, std::span<const double> main,
                                    size_t buckets);

}  // namespace leakhunt::series
