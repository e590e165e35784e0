// Min/max downsampling; see downsample.hpp.
#include "series/downsample.hpp"

#include <algorithm>
#include <cmath>

#include "util/error.hpp"

namespace leakhunt::series {

std::vector<size_t> min_max_indices(std::span<const double> t, std::span<const double> main,
                                    size_t buckets) {
    if (main.size() != t.size())
        throw util::Error("min_max_indices: the column and the times differ in length");
    if (buckets == 0) throw util::Error("min_max_indices: at least one bucket is needed");
    const size_t n = t.size();
    std::vector<size_t> out;
    if (n <= 2 * buckets) {
        out.resize(n);
        for (size_t i = 0; i < n; ++i) out[i] = i;
        return out;
    }
    out.reserve(2 * buckets + 2);
    const double t0 = t.front();
    const double span = t.back() - t0 > 0 ? t.back() - t0 : 1.0;
    auto bucket_of = [&](size_t i) {
        const double b = std::floor((t[i] - t0) / span * static_cast<double>(buckets));
        return std::min(buckets - 1, static_cast<size_t>(std::max(0.0, b)));
    };
    auto keep = [&](size_t i) {
        if (out.empty() || out.back() < i) out.push_back(i);
    };
    keep(0);
    size_t i = 0;
    while (i < n) {
        const size_t b = bucket_of(i);
        size_t lo = n, hi = n, j = i;
        for (; j < n && bucket_of(j) == b; ++j) {
            if (std::isnan(main[j])) continue;
            if (lo == n || main[j] < main[lo]) lo = j;
            if (hi == n || main[j] > main[hi]) hi = j;
        }
        if (lo == n) {
            keep(i);
        } else {
            keep(std::min(lo, hi));
            keep(std::max(lo, hi));
        }
        i = j;
    }
    keep(n - 1);
    return out;
}

}  // namespace leakhunt::series
