// Allocation-heavy micro-benchmark for agent_peers.sh: realistic C++ container work (not a raw
// malloc/free loop) run on several threads, so that the heap profilers see a mix of small and
// medium allocations, reallocations of growing vectors/strings and frees in a different order
// than the allocations. Built -O2 without frame pointers (the agent must unwind with DWARF).
//
// Usage: bench_alloc_micro [--threads N=2] [--rounds R=60]
// Per round and thread: build an std::unordered_map<std::string, std::vector<int>> of 20,000
// keys (vectors grown by push_back), an std::map<int, Item> of 20,000 small objects each with a
// string member, and 20,000 string concatenations; then look things up, erase half of the map,
// and tear everything down. Prints a checksum so that nothing is optimised away.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Item {
    std::uint64_t id = 0;
    std::string name;
    std::vector<double> values;
};

std::uint64_t round_work(std::uint32_t seed) {
    constexpr int k_keys = 20000;
    std::uint64_t sum = 0;
    std::uint32_t x = seed | 1U;
    auto rnd = [&x]() {
        x ^= x << 13U;
        x ^= x >> 17U;
        x ^= x << 5U;
        return x;
    };

    std::unordered_map<std::string, std::vector<int>> index;
    for (int i = 0; i < k_keys; ++i) {
        std::string key = "key/" + std::to_string(rnd() % 100000U) + "/" + std::to_string(i);
        auto& vec = index[std::move(key)];
        const std::uint32_t n = 1U + rnd() % 24U;
        for (std::uint32_t j = 0; j < n; ++j) vec.push_back(static_cast<int>(j * 3U + x % 7U));
    }

    std::map<int, Item> items;
    for (int i = 0; i < k_keys; ++i) {
        Item it;
        it.id = rnd();
        it.name = "item-" + std::to_string(it.id % 1000000U) + "-with-a-longer-suffix";
        it.values.resize(1U + rnd() % 8U, static_cast<double>(i));
        items.emplace(static_cast<int>(rnd() % 1000000U), std::move(it));
    }

    std::string text;
    std::vector<std::string> lines;
    lines.reserve(64);
    for (int i = 0; i < k_keys; ++i) {
        std::string line = "GET /api/v1/object/" + std::to_string(rnd() % 5000U) +
                           "?q=" + std::to_string(i) + " HTTP/1.1";
        text += line;
        lines.push_back(std::move(line));
        if (lines.size() == 64) {
            sum += lines.back().size();
            lines.clear();
        }
        if (text.size() > 65536) {
            sum += static_cast<std::uint8_t>(text[text.size() / 2]);
            text.clear();
            text.shrink_to_fit();
        }
    }

    for (int i = 0; i < k_keys; ++i) {
        auto f = index.find("key/" + std::to_string(rnd() % 100000U) + "/" + std::to_string(i));
        if (f != index.end()) sum += f->second.size();
    }
    for (auto it = items.begin(); it != items.end();) {
        sum += it->second.name.size();
        it = (it->second.id & 1U) != 0 ? items.erase(it) : std::next(it);
    }
    sum += index.size() + items.size();
    return sum;
}

long parse_arg(int argc, char** argv, const char* name, long def) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
    }
    return def;
}

}  // namespace

int main(int argc, char** argv) {
    const long threads = parse_arg(argc, argv, "--threads", 2);
    const long rounds = parse_arg(argc, argv, "--rounds", 60);
    if (threads < 1 || rounds < 1) {
        std::fprintf(stderr, "usage: bench_alloc_micro [--threads N] [--rounds R]\n");
        return 2;
    }
    std::vector<std::uint64_t> sums(static_cast<std::size_t>(threads), 0);
    std::vector<std::thread> pool;
    for (long t = 0; t < threads; ++t) {
        pool.emplace_back([t, rounds, &sums]() {
            std::uint64_t s = 0;
            for (long r = 0; r < rounds; ++r) {
                s += round_work(static_cast<std::uint32_t>(t * 7919 + r * 104729 + 1));
            }
            sums[static_cast<std::size_t>(t)] = s;
        });
    }
    for (auto& th : pool) th.join();
    std::uint64_t total = 0;
    for (const auto s : sums) total += s;
    std::printf("checksum %llu\n", static_cast<unsigned long long>(total));
    return 0;
}
