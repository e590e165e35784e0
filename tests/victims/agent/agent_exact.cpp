// agent_exact: a known live set for the agent's "full" mode. Every allocation entry point the agent
// interposes (malloc, calloc, realloc, reallocarray, posix_memalign, aligned_alloc, memalign,
// valloc, pvalloc, operator new/new[] plain, aligned and nothrow) is called from its own
// LEAKHUNT_SITE function named site_*; some blocks of each are freed again (free, plain, sized,
// aligned and nothrow operator delete, delete[]), realloc chains move blocks between sites, and
// 4 producer threads hand blocks to 2 consumer threads that free most of them (cross-thread
// frees). At the end it prints the ground truth, one JSON line per site in a fixed order:
//   {"function": "site_malloc_small", "inuse_bytes": N, "inuse_objects": M, "alloc_bytes": A,
//    "alloc_objects": B}
// then "ready", and holds --hold S seconds (S < 0: until a signal) before exiting 0 without
// freeing the live set. Sizes are the REQUESTED sizes (what the agent must report), not usable
// sizes; realloc counts as a free of the old block at its site plus an allocation at the site
// that called realloc. Site functions allocate nothing else; the ledger is lock-free atomics in
// static storage so bookkeeping adds no allocations of its own. The site functions are in
// agent_exact_sites.cpp.
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <thread>

#include "agent_exact_sites.hpp"
#include "agent_victim_support.hpp"

namespace {

enum class Site : std::size_t {
    malloc_small,
    malloc_medium,
    malloc_large,
    malloc_zero,
    calloc,
    realloc_null,
    realloc_chain_start,
    realloc_grow,
    realloc_grow_last,
    realloc_zero_source,
    realloc_to_zero,
    reallocarray,
    reallocarray_resize,
    posix_memalign,
    aligned_alloc,
    memalign,
    valloc,
    pvalloc,
    new_object,
    new_array,
    new_array_cookie,
    new_aligned,
    new_aligned_array,
    new_nothrow,
    new_nothrow_array,
    new_aligned_nothrow,
    new_aligned_array_nothrow,
    operator_new_direct,
    operator_new_array_direct,
    thread_produce,
    count
};

constexpr std::array<const char*, static_cast<std::size_t>(Site::count)> k_site_names = {
    "site_malloc_small",
    "site_malloc_medium",
    "site_malloc_large",
    "site_malloc_zero",
    "site_calloc",
    "site_realloc_null",
    "site_realloc_chain_start",
    "site_realloc_grow",
    "site_realloc_grow_last",
    "site_realloc_zero_source",
    "site_realloc_to_zero",
    "site_reallocarray",
    "site_reallocarray_resize",
    "site_posix_memalign",
    "site_aligned_alloc",
    "site_memalign",
    "site_valloc",
    "site_pvalloc",
    "site_new_object",
    "site_new_array",
    "site_new_array_cookie",
    "site_new_aligned",
    "site_new_aligned_array",
    "site_new_nothrow",
    "site_new_nothrow_array",
    "site_new_aligned_nothrow",
    "site_new_aligned_array_nothrow",
    "site_operator_new_direct",
    "site_operator_new_array_direct",
    "site_thread_produce"};

// Ground truth per site. Thread-safe (relaxed atomics; read after every thread is joined).
class Ledger {
  public:
    void allocated(Site site, std::size_t bytes) {
        Counts& counts = m_counts[static_cast<std::size_t>(site)];
        counts.alloc_bytes.fetch_add(bytes, std::memory_order_relaxed);
        counts.alloc_objects.fetch_add(1, std::memory_order_relaxed);
        counts.inuse_bytes.fetch_add(bytes, std::memory_order_relaxed);
        counts.inuse_objects.fetch_add(1, std::memory_order_relaxed);
    }
    void freed(Site site, std::size_t bytes) {
        Counts& counts = m_counts[static_cast<std::size_t>(site)];
        counts.inuse_bytes.fetch_sub(bytes, std::memory_order_relaxed);
        counts.inuse_objects.fetch_sub(1, std::memory_order_relaxed);
    }
    void print() const {
        for (std::size_t i = 0; i < m_counts.size(); ++i) {
            const Counts& c = m_counts[i];
            std::printf(
                "{\"function\": \"%s\", \"inuse_bytes\": %zu, \"inuse_objects\": %zu, "
                "\"alloc_bytes\": %zu, \"alloc_objects\": %zu}\n",
                k_site_names[i], c.inuse_bytes.load(), c.inuse_objects.load(), c.alloc_bytes.load(),
                c.alloc_objects.load());
        }
    }

  private:
    struct Counts {
        std::atomic<std::size_t> alloc_bytes{0};
        std::atomic<std::size_t> alloc_objects{0};
        std::atomic<std::size_t> inuse_bytes{0};
        std::atomic<std::size_t> inuse_objects{0};
    };
    std::array<Counts, static_cast<std::size_t>(Site::count)> m_counts{};
};

Ledger g_ledger;

struct Block {
    void* pointer = nullptr;
    std::size_t size = 0;
};

// Allocates N blocks through `allocate(i) -> Block`, then releases those with !keep(i) through
// `release(block, i)`, keeping the ledger of `site`.
template <std::size_t N, typename Allocate, typename Keep, typename Release>
void exercise(Site site, Allocate allocate, Keep keep, Release release) {
    std::array<Block, N> blocks{};
    for (std::size_t i = 0; i < N; ++i) {
        blocks[i] = allocate(i);
        g_ledger.allocated(site, blocks[i].size);
    }
    for (std::size_t i = 0; i < N; ++i) {
        if (keep(i)) continue;
        release(blocks[i], i);
        g_ledger.freed(site, blocks[i].size);
    }
}

void free_block(const Block& block, std::size_t) {
    std::free(block.pointer);
}

void run_malloc_family() {
    exercise<100>(
        Site::malloc_small,
        [](std::size_t i) {
            const std::size_t size = 8 * (1 + i % 8);
            return Block{site_malloc_small(size), size};
        },
        [](std::size_t i) { return i % 3 != 0; }, free_block);
    exercise<20>(
        Site::malloc_medium,
        [](std::size_t i) {
            const std::size_t size = 1000 + 100 * i;
            return Block{site_malloc_medium(size), size};
        },
        [](std::size_t i) { return i % 2 != 0; }, free_block);
    // Above glibc's default mmap threshold (128 KiB): served by mmap, freed by munmap.
    exercise<4>(
        Site::malloc_large,
        [](std::size_t i) {
            const std::size_t size = (std::size_t{1} << 20) + 4096 * i;
            return Block{site_malloc_large(size), size};
        },
        [](std::size_t i) { return i != 0; }, free_block);
    exercise<5>(
        Site::malloc_zero,
        [](std::size_t) {
            return Block{site_malloc_zero(), 0};
        },
        [](std::size_t i) { return i >= 2; }, free_block);
    exercise<30>(
        Site::calloc,
        [](std::size_t i) {
            return Block{site_calloc(i + 1, 12), (i + 1) * 12};
        },
        [](std::size_t i) { return i % 2 != 0; }, free_block);
    exercise<10>(
        Site::realloc_null,
        [](std::size_t i) {
            return Block{site_realloc_null(48 + i), 48 + i};
        },
        [](std::size_t i) { return i >= 3; }, free_block);
}

// Four blocks grown ten times each: nine steps from site_realloc_grow, the tenth from
// site_realloc_grow_last, which is therefore the site of the live block. Chain 0 is freed.
void run_realloc_chains() {
    for (std::size_t chain = 0; chain < 4; ++chain) {
        std::size_t size = 16 + chain;
        void* block = site_realloc_chain_start(size);
        g_ledger.allocated(Site::realloc_chain_start, size);
        Site site = Site::realloc_chain_start;
        for (std::size_t step = 1; step <= 10; ++step) {
            const std::size_t grown = (std::size_t{16} << step) + chain;
            const bool last = step == 10;
            block = last ? site_realloc_grow_last(block, grown) : site_realloc_grow(block, grown);
            g_ledger.freed(site, size);
            site = last ? Site::realloc_grow_last : Site::realloc_grow;
            g_ledger.allocated(site, grown);
            size = grown;
        }
        if (chain == 0) {
            std::free(block);
            g_ledger.freed(site, size);
        }
    }
}

void run_realloc_edges() {
    // free(NULL), delete nullptr and delete[] nullptr: no-ops the agent must pass through.
    void* volatile null_block = nullptr;
    std::free(null_block);
    Widget* volatile null_widget = nullptr;
    delete null_widget;
    std::uint32_t* volatile null_array = nullptr;
    delete[] null_array;

    bool returned_null = true;
    for (std::size_t i = 0; i < 6; ++i) {
        void* block = site_realloc_zero_source(200);
        g_ledger.allocated(Site::realloc_zero_source, 200);
        if (i >= 3) continue;
        void* result = site_realloc_to_zero(block);
        g_ledger.freed(Site::realloc_zero_source, 200);
        if (result != nullptr) {  // not glibc: a zero-size block, freed again at once
            returned_null = false;
            g_ledger.allocated(Site::realloc_to_zero, 0);
            std::free(result);
            g_ledger.freed(Site::realloc_to_zero, 0);
        }
    }
    std::fprintf(stderr, "agent_exact: note: realloc(p, 0) %s\n",
                 returned_null ? "freed p and returned NULL (glibc)"
                               : "returned a minimum-size block (not glibc)");

    std::array<Block, 8> arrays{};
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        arrays[i] = Block{site_reallocarray(10 + i, 12), (10 + i) * 12};
        g_ledger.allocated(Site::reallocarray, arrays[i].size);
    }
    for (std::size_t i = 0; i < 4; ++i) {
        const std::size_t count = 20 + i;
        arrays[i].pointer = site_reallocarray_resize(arrays[i].pointer, count, 12);
        g_ledger.freed(Site::reallocarray, arrays[i].size);
        arrays[i].size = count * 12;
        g_ledger.allocated(Site::reallocarray_resize, arrays[i].size);
    }
    std::free(arrays[0].pointer);
    g_ledger.freed(Site::reallocarray_resize, arrays[0].size);
    std::free(arrays[7].pointer);
    g_ledger.freed(Site::reallocarray, arrays[7].size);
}

void run_aligned_family() {
    exercise<10>(
        Site::posix_memalign,
        [](std::size_t i) {
            const std::size_t size = 100 + 10 * i;
            const std::size_t alignment = std::size_t{16} << (2 * (i % 4));
            return Block{site_posix_memalign(alignment, size), size};
        },
        [](std::size_t i) { return i % 2 == 0; }, free_block);
    exercise<10>(
        Site::aligned_alloc,
        [](std::size_t i) {
            return Block{site_aligned_alloc(128, 128 * (i + 1)), 128 * (i + 1)};
        },
        [](std::size_t i) { return i >= 4; }, free_block);
    exercise<10>(
        Site::memalign,
        [](std::size_t i) {
            return Block{site_memalign(32, 200 + i), 200 + i};
        },
        [](std::size_t i) { return i % 5 != 0; }, free_block);
    exercise<4>(
        Site::valloc,
        [](std::size_t i) {
            return Block{site_valloc(1000 + i), 1000 + i};
        },
        [](std::size_t i) { return i != 3; }, free_block);
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    exercise<3>(
        Site::pvalloc,
        [page](std::size_t) {
            return Block{site_pvalloc(2 * page), 2 * page};
        },
        [](std::size_t i) { return i != 0; }, free_block);
}

void run_operator_new_family() {
    exercise<50>(
        Site::new_object,
        [](std::size_t i) {
            return Block{site_new_object(i), sizeof(Widget)};
        },
        [](std::size_t i) { return i % 4 != 0; },
        [](const Block& b, std::size_t) { delete static_cast<Widget*>(b.pointer); });
    exercise<20>(
        Site::new_array,
        [](std::size_t i) {
            return Block{site_new_array(25 + i), 4 * (25 + i)};
        },
        [](std::size_t i) { return i % 2 != 0; },
        [](const Block& b, std::size_t) { delete[] static_cast<std::uint32_t*>(b.pointer); });
    exercise<6>(
        Site::new_array_cookie,
        [](std::size_t) {
            return Block{site_new_array_cookie(10), 10 * sizeof(Tracked) + k_array_cookie};
        },
        [](std::size_t i) { return i >= 2; },
        [](const Block& b, std::size_t) { delete[] static_cast<Tracked*>(b.pointer); });
    exercise<12>(
        Site::new_aligned,
        [](std::size_t) {
            return Block{site_new_aligned(), 192};
        },
        [](std::size_t i) { return i % 3 != 0; },
        [](const Block& b, std::size_t i) {
            if (i == 3)
                ::operator delete (b.pointer, std::align_val_t{64});  // unsized
            else
                delete static_cast<Aligned64*>(b.pointer);  // sized aligned delete
        });
    // Trivially destructible elements: no array cookie, operator new[] gets exactly 3 * 192.
    exercise<4>(
        Site::new_aligned_array,
        [](std::size_t) {
            return Block{site_new_aligned_array(3), 3 * 192};
        },
        [](std::size_t i) { return i >= 3; },
        [](const Block& b, std::size_t i) {
            if (i == 0)
                delete[] static_cast<Aligned64*>(b.pointer);
            else if (i == 1)
                ::operator delete[](b.pointer, b.size, std::align_val_t{64});
            else
                ::operator delete[](b.pointer, std::align_val_t{64}, std::nothrow);
        });
    exercise<10>(
        Site::new_nothrow,
        [](std::size_t i) {
            return Block{site_new_nothrow(i), sizeof(Widget)};
        },
        [](std::size_t i) { return i >= 5; },
        [](const Block& b, std::size_t) { delete static_cast<Widget*>(b.pointer); });
    exercise<5>(
        Site::new_nothrow_array,
        [](std::size_t i) {
            return Block{site_new_nothrow_array(16 + i), 8 * (16 + i)};
        },
        [](std::size_t i) { return i != 4; },
        [](const Block& b, std::size_t) { delete[] static_cast<std::uint64_t*>(b.pointer); });
    exercise<4>(
        Site::new_aligned_nothrow,
        [](std::size_t) {
            return Block{site_new_aligned_nothrow(), 192};
        },
        [](std::size_t i) { return i != 1 && i != 2; },
        [](const Block& b, std::size_t i) {
            if (i == 1) {
                delete static_cast<Aligned64*>(b.pointer);  // sized aligned delete
            } else {
                ::operator delete (b.pointer, std::align_val_t{64}, std::nothrow);
            }
        });
    exercise<3>(
        Site::new_aligned_array_nothrow,
        [](std::size_t) {
            return Block{site_new_aligned_array_nothrow(2), 2 * 192};
        },
        [](std::size_t i) { return i != 0; },
        [](const Block& b, std::size_t) { delete[] static_cast<Aligned64*>(b.pointer); });
    exercise<8>(
        Site::operator_new_direct,
        [](std::size_t i) {
            return Block{site_operator_new_direct(100 + i), 100 + i};
        },
        [](std::size_t i) { return i >= 3; },
        [](const Block& b, std::size_t i) {
            if (i == 0)
                ::operator delete(b.pointer);
            else if (i == 1)
                ::operator delete(b.pointer, b.size);
            else
                ::operator delete(b.pointer, std::nothrow);
        });
    exercise<4>(
        Site::operator_new_array_direct,
        [](std::size_t i) {
            return Block{site_operator_new_array_direct(64 * (i + 1)), 64 * (i + 1)};
        },
        [](std::size_t i) { return i >= 3; },
        [](const Block& b, std::size_t i) {
            if (i == 0)
                ::operator delete[](b.pointer);
            else if (i == 1)
                ::operator delete[](b.pointer, b.size);
            else
                ::operator delete[](b.pointer, std::nothrow);
        });
}

// Cross-thread frees: 4 producers allocate 1000 blocks each and push them through a bounded
// queue; 2 consumers free every block except those with index % 10 == 0 (400 stay live). Sizes
// and the kept set depend only on (producer, index), so the ground truth is deterministic.
constexpr std::size_t k_producers = 4;
constexpr std::size_t k_consumers = 2;
constexpr std::size_t k_per_producer = 1000;

struct QueuedBlock {
    void* pointer;
    std::size_t size;
    std::size_t index;
};

// A bounded FIFO in static storage (no allocation). Thread-safe.
class BlockQueue {
  public:
    void push(const QueuedBlock& block) {
        std::unique_lock lock(m_mutex);
        m_not_full.wait(lock, [this] { return m_size < m_slots.size(); });
        m_slots[(m_head + m_size) % m_slots.size()] = block;
        ++m_size;
        m_not_empty.notify_one();
    }
    // False once all k_producers * k_per_producer blocks have been popped.
    bool pop(QueuedBlock& block) {
        std::unique_lock lock(m_mutex);
        m_not_empty.wait(lock, [this] { return m_size > 0 || m_popped == k_total; });
        if (m_size == 0) return false;
        block = m_slots[m_head];
        m_head = (m_head + 1) % m_slots.size();
        --m_size;
        if (++m_popped == k_total) m_not_empty.notify_all();
        m_not_full.notify_one();
        return true;
    }

  private:
    static constexpr std::size_t k_total = k_producers * k_per_producer;
    std::mutex m_mutex;
    std::condition_variable m_not_full;
    std::condition_variable m_not_empty;
    std::array<QueuedBlock, 128> m_slots{};
    std::size_t m_head = 0;
    std::size_t m_size = 0;
    std::size_t m_popped = 0;
};

BlockQueue g_queue;

void produce(std::size_t producer) {
    for (std::size_t i = 0; i < k_per_producer; ++i) {
        const std::size_t size = 32 + 16 * ((producer * 7 + i) % 13);
        void* block = site_thread_produce(size);
        g_ledger.allocated(Site::thread_produce, size);
        g_queue.push(QueuedBlock{block, size, i});
    }
}

void consume() {
    QueuedBlock block{};
    while (g_queue.pop(block)) {
        if (block.index % 10 == 0) continue;  // stays live, owned by nobody
        std::free(block.pointer);
        g_ledger.freed(Site::thread_produce, block.size);
    }
}

void run_threads() {
    std::array<std::thread, k_producers + k_consumers> threads;
    for (std::size_t i = 0; i < k_consumers; ++i) threads[i] = std::thread(consume);
    for (std::size_t i = 0; i < k_producers; ++i)
        threads[k_consumers + i] = std::thread(produce, i);
    for (std::thread& thread : threads) thread.join();
}

}  // namespace

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags(
        {argv, static_cast<std::size_t>(argc)},
        "usage: agent_exact [--hold SECONDS=0 (<0: until a signal)]");
    const double hold = flags.number("hold", 0);
    flags.reject_unknown();

    run_malloc_family();
    run_realloc_chains();
    run_realloc_edges();
    run_aligned_family();
    run_operator_new_family();
    run_threads();

    g_ledger.print();
    std::printf("ready\n");
    std::fflush(stdout);
    if (hold < 0) {
        pause();
    } else if (hold > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(hold));
    }
    return 0;
}
