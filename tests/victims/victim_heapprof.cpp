// victim_heapprof: a program whose heap is known exactly, for the tests of the gperftools and
// jemalloc heap profile readers. leak_blocks() keeps COUNT blocks of BYTES; churn() allocates and
// frees 500 blocks of 1000 bytes, which must not show as in use. Run it with libtcmalloc or
// libjemalloc preloaded and their profiler switched on (HEAPPROFILE=..., or
// MALLOC_CONF=prof:true,...) and they write the profile at exit. Built as victim_tcmalloc_sample
// (linked with libtcmalloc, LEAKHUNT_WITH_TCMALLOC), a third argument names the file that
// receives MallocExtension::GetHeapSample(), gperftools' heap_v2 sampled profile (it needs
// TCMALLOC_SAMPLE_PARAMETER set in the environment).
//
// Usage: victim_heapprof COUNT BYTES [HEAP_V2_OUT]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef LEAKHUNT_WITH_TCMALLOC
#include <gperftools/malloc_extension.h>
#endif

// extern "C" with external linkage: go tool pprof's own DWARF reader names such functions (it
// leaves functions in an anonymous namespace nameless), and the tests compare its top with ours.
extern "C" {

void* volatile g_sink = nullptr;

// The leak: blocks stored in a list nothing frees.
__attribute__((noinline)) void leak_blocks(void** kept, long count, long bytes) {
    for (long i = 0; i < count; ++i) {
        void* p = std::malloc(static_cast<size_t>(bytes));
        std::memset(p, 1, static_cast<size_t>(bytes));
        kept[i] = p;
    }
}

__attribute__((noinline)) void churn() {
    for (int i = 0; i < 500; ++i) {
        void* p = std::malloc(1000);
        g_sink = p;
        std::free(p);
    }
}

}  // extern "C"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: victim_heapprof COUNT BYTES [HEAP_V2_OUT]\n");
        return 2;
    }
    const long count = std::atol(argv[1]);
    const long bytes = std::atol(argv[2]);
    static std::vector<void*> kept;
    kept.resize(static_cast<size_t>(count));  // before the leak, so it is one allocation
    churn();
    leak_blocks(kept.data(), count, bytes);
    churn();
    if (argc > 3) {
#ifdef LEAKHUNT_WITH_TCMALLOC
        std::string sample;
        MallocExtension::instance()->GetHeapSample(&sample);
        FILE* f = std::fopen(argv[3], "w");
        if (f == nullptr || std::fwrite(sample.data(), 1, sample.size(), f) != sample.size() ||
            std::fclose(f) != 0) {
            std::perror(argv[3]);
            return 1;
        }
#else
        std::fprintf(stderr, "victim_heapprof: built without tcmalloc, no heap_v2 sample\n");
        return 2;
#endif
    }
    std::printf("done\n");
    return 0;
}
