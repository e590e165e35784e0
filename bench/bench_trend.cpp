// Micro-benchmarks of the verdict engine and the CSV reader on synthetic series: trend::assess at
// 1k / 10k / 100k / 1M samples (a leak and a healthy shape), trend::classify (with and without the
// detection-latency replay), trend::replay, series::parse_csv of 1M rows, and `suspects`'
// find_suspects over 10,000 allocation sites (a profile's worth) at 12 / 24 / 48 snapshots.
//
// The series: one sample per second; 200 MiB baseline, a 40 MiB GC sawtooth with a 300 s period,
// Gaussian noise (sd 2 MiB, fixed seed), plus 2 MiB/h of growth for the leak shape.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "series/csv.hpp"
#include "series/series.hpp"
#include "trend/classify.hpp"
#include "trend/suspects.hpp"
#include "trend/verdict.hpp"

namespace {

using leakhunt::series::Series;

struct Data {
    std::vector<double> t;
    std::vector<double> v;
};

Data make_series(std::size_t n, bool leak) {
    constexpr double k_mib = 1024.0 * 1024.0;
    constexpr std::size_t k_period = 300;
    std::mt19937_64 rng(42);
    std::normal_distribution<double> noise(0.0, 2.0 * k_mib);
    const double leak_per_s = leak ? 2.0 * k_mib / 3600.0 : 0.0;
    Data d;
    d.t.reserve(n);
    d.v.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto ti = static_cast<double>(i);
        const double saw =
            40.0 * k_mib * static_cast<double>(i % k_period) / static_cast<double>(k_period);
        d.t.push_back(ti);
        d.v.push_back(200.0 * k_mib + leak_per_s * ti + saw + noise(rng));
    }
    return d;
}

Series make_full_series(std::size_t n, bool leak) {
    Data d = make_series(n, leak);
    Series s;
    s.name = leak ? "leak" : "healthy";
    s.t = std::move(d.t);
    s.columns["rss_bytes"] = std::move(d.v);
    return s;
}

void bm_assess(benchmark::State& state, bool leak) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const Data d = make_series(n, leak);
    const leakhunt::trend::Options options;
    for (auto _ : state) {
        auto a = leakhunt::trend::assess(d.t, d.v, options);
        benchmark::DoNotOptimize(a);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_assess_leak(benchmark::State& state) {
    bm_assess(state, true);
}
void BM_assess_healthy(benchmark::State& state) {
    bm_assess(state, false);
}

void bm_classify(benchmark::State& state, bool leak, bool latency) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const Series s = make_full_series(n, leak);
    leakhunt::trend::ClassifyOptions options;
    options.detection_latency = latency;
    for (auto _ : state) {
        auto c = leakhunt::trend::classify(s, options);
        benchmark::DoNotOptimize(c);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_classify_leak(benchmark::State& state) {
    bm_classify(state, true, true);
}
void BM_classify_healthy(benchmark::State& state) {
    bm_classify(state, false, true);
}
void BM_classify_leak_no_latency(benchmark::State& state) {
    bm_classify(state, true, false);
}
void BM_classify_healthy_no_latency(benchmark::State& state) {
    bm_classify(state, false, false);
}

void bm_replay(benchmark::State& state, bool leak) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const Series s = make_full_series(n, leak);
    const leakhunt::trend::Options options;
    for (auto _ : state) {
        auto changes = leakhunt::trend::replay(s, options);
        benchmark::DoNotOptimize(changes);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_replay_leak(benchmark::State& state) {
    bm_replay(state, true);
}
void BM_replay_healthy(benchmark::State& state) {
    bm_replay(state, false);
}

void BM_parse_csv(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const Data d = make_series(n, true);
    std::string text = "t_seconds,rss_bytes\n";
    text.reserve(n * 20);
    for (std::size_t i = 0; i < n; ++i) {
        text += std::to_string(i);
        text += ',';
        text += std::to_string(static_cast<std::int64_t>(d.v[i]));
        text += '\n';
    }
    for (auto _ : state) {
        auto r = leakhunt::series::parse_csv(text, "bench.csv");
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}

// 10,000 sites over n snapshots a minute apart: a tenth leak steadily, a tenth fill a cache and
// stop, the rest churn (16 random blocks of 64 KiB..1 MiB each, as agent_churn_leak's churn).
void BM_find_suspects(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    constexpr std::size_t k_sites = 10000;
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int> block(64 << 10, (1 << 20) - 1);
    std::vector<double> t(n);
    for (std::size_t i = 0; i < n; ++i) t[i] = 60.0 * static_cast<double>(i);
    std::vector<leakhunt::trend::SiteSeries> sites(k_sites);
    for (std::size_t s = 0; s < k_sites; ++s) {
        sites[s].key.name = "site" + std::to_string(s);
        sites[s].key.label = "memory allocated in " + sites[s].key.name;
        for (std::size_t i = 0; i < n; ++i) {
            const auto fi = static_cast<double>(i);
            double v = 0;
            if (s % 10 == 0) {
                v = 1e6 + 1e5 * fi;
            } else if (s % 10 == 1) {
                v = 1e5 * std::min(fi, static_cast<double>(n / 3));
            } else {
                for (int b = 0; b < 16; ++b) v += block(rng);
            }
            sites[s].values.push_back(v);
        }
    }
    for (auto _ : state) {
        auto r = leakhunt::trend::find_suspects(t, sites, "bytes");
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(k_sites));
}

}  // namespace

BENCHMARK(BM_assess_leak)->RangeMultiplier(10)->Range(1000, 1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_assess_healthy)
    ->RangeMultiplier(10)
    ->Range(1000, 1000000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_classify_leak)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_classify_healthy)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_classify_leak_no_latency)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_classify_healthy_no_latency)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_replay_leak)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_replay_healthy)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_parse_csv)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_find_suspects)->Arg(12)->Arg(24)->Arg(48)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
