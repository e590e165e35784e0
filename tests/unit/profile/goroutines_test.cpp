// group_goroutines on the stacks Go 1.19's /debug/pprof/goroutine?debug=0 gives (copied from a
// real service: the frames and lines of `go tool pprof -traces`), and goroutine_state's rules.
#include "profile/goroutines.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace leakhunt::profile {
namespace {

using Frames = std::vector<std::pair<std::string, int64_t>>;  // function, line; leaf first

// A goroutine profile built the way Go writes one: one location per frame, one function each.
class GoroutineProfile {
  public:
    GoroutineProfile() {
        m_p.sample_types = {{"goroutine", "count"}};
        m_p.period_type = {"goroutine", "count"};
        m_p.period = 1;
    }
    void add(int64_t count, const Frames& frames) {
        Sample s;
        for (const auto& [name, line] : frames) {
            const uint64_t id = m_p.locations.size() + 1;
            m_p.functions.push_back({.id = id,
                                     .name = name,
                                     .system_name = name,
                                     .filename = "/src/" + name.substr(0, name.find('.')) + ".go"});
            m_p.locations.push_back({.id = id, .address = 0x400000 + id, .lines = {{id, line, 0}}});
            s.location_ids.push_back(id);
        }
        s.values = {count};
        m_p.samples.push_back(std::move(s));
    }
    const Profile& profile() const { return m_p; }

  private:
    Profile m_p;
};

const Frames k_leaked = {{"runtime.gopark", 363},
                         {"runtime.chanrecv", 583},
                         {"runtime.chanrecv1", 442},
                         {"main.handleRequest.func1", 15}};
const Frames k_accept = {{"runtime.gopark", 363},
                         {"runtime.netpollblock", 526},
                         {"internal/poll.runtime_pollWait", 305},
                         {"internal/poll.(*pollDesc).wait", 84},
                         {"internal/poll.(*FD).Accept", 614},
                         {"net.(*netFD).accept", 172},
                         {"net.(*TCPListener).Accept", 288},
                         {"net/http.(*Server).Serve", 3070},
                         {"main.main", 26},
                         {"runtime.main", 250}};
const Frames k_profiler = {{"runtime.goroutineProfileWithLabels", 858},
                           {"runtime/pprof.runtime_goroutineProfileWithLabels", 846},
                           {"runtime/pprof.writeRuntimeProfile", 723},
                           {"net/http.(*conn).serve", 1991}};
const Frames k_sleep = {{"runtime.gopark", 363}, {"time.Sleep", 195}, {"main.main.func1", 23}};
const Frames k_no_cases = {{"runtime.gopark", 363}, {"runtime.block", 2}, {"main.main.func2", 24}};
const Frames k_syscall = {{"syscall.Syscall", 20},
                          {"syscall.read", 10},
                          {"internal/poll.(*FD).Read", 167},
                          {"net.(*conn).Read", 183},
                          {"net/http.(*connReader).backgroundRead", 678}};

TEST(GroupGoroutines, FoldsRuntimeFramesIntoTheState) {
    GoroutineProfile g;
    g.add(3, k_leaked);
    g.add(1, k_accept);
    g.add(1, k_profiler);
    g.add(1, k_sleep);
    g.add(1, k_no_cases);
    g.add(1, k_syscall);
    // The same leaked stack in a second sample (another profile might split it): summed.
    g.add(2, k_leaked);
    EXPECT_EQ(goroutine_count(g.profile(), "p"), 10);
    const auto groups = group_goroutines(g.profile(), "p");
    ASSERT_EQ(groups.size(), 6u);
    EXPECT_EQ(groups[0].count, 5);
    EXPECT_EQ(groups[0].state, "chan receive");
    EXPECT_EQ(groups[0].function, "main.handleRequest.func1");
    EXPECT_EQ(groups[0].file, "/src/main.go");
    EXPECT_EQ(groups[0].line, 15);
    EXPECT_EQ(groups[0].key, "chan receive\nmain.handleRequest.func1 /src/main.go:15");
    std::map<std::string, std::pair<std::string, int64_t>> by_function;
    for (const auto& x : groups) by_function[x.function] = {x.state, x.count};
    using P = std::pair<std::string, int64_t>;
    EXPECT_EQ(by_function.at("net/http.(*Server).Serve"), P("IO wait", 1));
    EXPECT_EQ(by_function.at("runtime/pprof.runtime_goroutineProfileWithLabels"), P("running", 1));
    EXPECT_EQ(by_function.at("main.main.func1"), P("sleep", 1));
    EXPECT_EQ(by_function.at("main.main.func2"), P("select (no cases)", 1));
    EXPECT_EQ(by_function.at("net/http.(*connReader).backgroundRead"), P("syscall", 1));
}

TEST(GroupGoroutines, SameFunctionOtherCallerIsAnotherGroup) {
    GoroutineProfile g;
    g.add(4, {{"runtime.gopark", 1}, {"runtime.selectgo", 2}, {"main.loop", 7}, {"main.a", 1}});
    g.add(4, {{"runtime.gopark", 1}, {"runtime.selectgo", 2}, {"main.loop", 7}, {"main.b", 1}});
    g.add(1, {{"runtime.goexit", 1}});
    const auto groups = group_goroutines(g.profile(), "p");
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(groups[0].function, "main.loop");
    EXPECT_EQ(groups[1].function, "main.loop");
    EXPECT_NE(groups[0].key, groups[1].key);
    EXPECT_EQ(groups[2].function, "(no stack)");
    EXPECT_EQ(groups[2].count, 1);
}

TEST(GoroutineState, OutermostRuleWins) {
    const auto state = [](std::vector<std::string_view> f) { return goroutine_state(f); };
    EXPECT_EQ(state({"runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1",
                     "sync.runtime_Semacquire", "sync.(*WaitGroup).Wait"}),
              "sync.WaitGroup.Wait");
    EXPECT_EQ(state({"runtime.gopark", "runtime.semacquire1", "sync.runtime_SemacquireMutex",
                     "sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock"}),
              "sync.Mutex.Lock");
    EXPECT_EQ(state({"runtime.gopark", "runtime.semacquire1", "sync.runtime_SemacquireMutex",
                     "sync.(*RWMutex).RLock"}),
              "sync.RWMutex.RLock");
    EXPECT_EQ(state({"runtime.gopark", "runtime.chansend", "runtime.chansend1"}), "chan send");
    EXPECT_EQ(state({"runtime.gopark", "sync.runtime_notifyListWait", "sync.(*Cond).Wait"}),
              "sync.Cond.Wait");
    EXPECT_EQ(state({"runtime.gopark", "runtime.unknownWait"}), "waiting");
    EXPECT_EQ(state({}), "running");
}

TEST(GoroutineState, PlumbingIsTheRuntimeAndTheStandardLibrarysBlockingCalls) {
    for (const char* f : {"runtime.gopark", "runtime/internal/syscall.Syscall6",
                          "internal/poll.(*FD).Read", "syscall.read", "sync.(*Mutex).Lock",
                          "net.(*conn).Read", "os.(*File).Read", "time.Sleep"}) {
        EXPECT_TRUE(is_blocking_plumbing(f)) << f;
    }
    for (const char* f : {"main.main", "runtime/pprof.writeGoroutine", "net/http.(*conn).serve",
                          "time.(*Timer).Reset", "example.com/runtime.gopark",
                          "github.com/x/sync.(*Pool).Get", "main.F[...]"}) {
        EXPECT_FALSE(is_blocking_plumbing(f)) << f;
    }
}

TEST(GroupGoroutines, AHeapProfileIsRefusedByName) {
    Profile p = make_heap_profile();
    EXPECT_FALSE(is_goroutine_profile(p));
    try {
        (void)group_goroutines(p, "heap.1.0000.pb.gz");
        FAIL();
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("heap.1.0000.pb.gz is not a goroutine profile"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace leakhunt::profile
