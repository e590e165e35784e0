// A victim built twice: plainly (run under `leakhunt record --all --leak-check`) and with
// clang -fsanitize=leak, so the two leak reports can be compared. At exit it has leaked, with
// sizes that are multiples of 16 (glibc never puts the next chunk's header inside such a block):
//   direct   8 x 320 B (leak_malloc), 4 x 1024 B (leak_array), 3 x 32 B Parent (make_parent),
//            1 x 48 B list head (make_node from leak_list)
//   indirect 12 x 48 B Child (make_child), 4 x 64 B Link in two cycles (make_link),
//            9 x 48 B list nodes (make_node from leak_list)
// Totals: direct 6800 bytes in 16 objects, indirect 1264 bytes in 25 objects. It also keeps
// 100 list nodes reachable from the global g_kept, which neither tool may report.
#include <cstdio>
#include <cstdlib>
#include <cstring>

struct Node {
    Node* next;
    long v[5];
};
struct Child {
    long v[6];
};
struct Parent {
    Child* kids[4];
};
struct Link {
    Link* other;
    long v[7];
};

Node* g_kept = nullptr;

__attribute__((noinline)) Node* make_node(Node* next) {
    auto* n = new Node{};
    n->next = next;
    return n;
}
__attribute__((noinline)) void keep_list() {
    for (int i = 0; i < 100; ++i) g_kept = make_node(g_kept);
}
__attribute__((noinline)) void leak_malloc() {
    for (int i = 0; i < 8; ++i) {
        void* volatile p = std::malloc(320);
        std::memset(p, 0, 320);
    }
}
__attribute__((noinline)) void leak_array() {
    for (int i = 0; i < 4; ++i) {
        char* volatile p = new char[1024];
        p[0] = 1;
    }
}
__attribute__((noinline)) Child* make_child() {
    return new Child{};
}
__attribute__((noinline)) Parent* make_parent() {
    auto* p = new Parent{};
    for (auto& k : p->kids) k = make_child();
    return p;
}
__attribute__((noinline)) void leak_tree() {
    for (int i = 0; i < 3; ++i) {
        Parent* volatile p = make_parent();
        (void)p;
    }
}
__attribute__((noinline)) Link* make_link() {
    return new Link{};
}
__attribute__((noinline)) void leak_cycle() {
    for (int i = 0; i < 2; ++i) {
        Link* a = make_link();
        Link* b = make_link();
        a->other = b;
        b->other = a;
    }
}
__attribute__((noinline)) void leak_list() {
    Node* volatile head = nullptr;
    for (int i = 0; i < 10; ++i) head = make_node(head);
}
__attribute__((noinline)) void scrub_stack() {
    volatile char junk[32768];
    for (std::size_t i = 0; i < sizeof junk; ++i) junk[i] = 0;
}

int main() {
    keep_list();
    leak_malloc();
    leak_array();
    leak_tree();
    leak_cycle();
    leak_list();
    scrub_stack();
    std::printf("done\n");
    return 0;
}
