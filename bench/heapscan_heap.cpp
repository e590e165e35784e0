// The heap for bench/heapscan.sh: --blocks N blocks of --size bytes (default 10,000,000 x 104 B,
// about 1 GB), chained into 1000 linked lists whose heads sit in a global array, so marking has
// to follow every block; every 100th block is dropped from its list (a direct leak, and the rest
// of that list's tail stays reachable through the block after it). Prints "ready" and waits for
// a line on stdin.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

struct Block {
    Block* next;
};

Block* g_heads[1000];

int main(int argc, char** argv) {
    long blocks = 10'000'000;
    long size = 104;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--blocks") == 0) blocks = std::atol(argv[i + 1]);
        if (std::strcmp(argv[i], "--size") == 0) size = std::atol(argv[i + 1]);
    }
    long leaked = 0;
    for (long i = 0; i < blocks; ++i) {
        auto* b = static_cast<Block*>(std::malloc(static_cast<size_t>(size)));
        std::memset(b, 0, static_cast<size_t>(size));
        if (i % 100 == 99) {
            ++leaked;  // nothing points to it
            continue;
        }
        Block*& head = g_heads[i % 1000];
        b->next = head;
        head = b;
    }
    std::printf("ready %ld blocks of %ld bytes, %ld leaked\n", blocks, size, leaked);
    std::fflush(stdout);
    char line[16];
    if (std::fgets(line, sizeof line, stdin) == nullptr) return 0;
    return 0;
}
