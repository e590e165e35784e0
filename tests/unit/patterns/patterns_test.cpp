// The pattern library: signature normalisation, the matching rule (learned: same holder shape or
// same site; built-in: tokens in order), the patterns file's round trip and its errors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "patterns/patterns.hpp"
#include "patterns/signature.hpp"
#include "util/error.hpp"

namespace leakhunt::patterns {
namespace {

// Two programs that keep every request's object in a module-level Map: the same shape under
// different names (the first is tests/victims/node/service.js's cache mode).
const std::vector<std::string> k_sessions_path = {
    "(GC roots)", "internal `1` (system / NativeContext)", "context `sessions` (Map)",
    "internal `table` (system / OrderedHashMap)", "element [] (Object)"};
const std::vector<std::string> k_orders_path = {
    "(GC roots)", "internal `1` (system / NativeContext)", "context `pendingOrders` (Map)",
    "internal `table` (system / OrderedHashMap)", "element [] (Order)"};
const std::vector<std::string> k_listener_path = {"(GC roots)",
                                                  "internal `1` (system / NativeContext)",
                                                  "context `bus` (EventEmitter)",
                                                  "property `_events` (Object)",
                                                  "property `config` (Array)",
                                                  "element [] (closure)"};

TEST(NormaliseSite, KeepsADomElementsTag) {
    EXPECT_EQ(normalise_site("Detached <div class=\"row\">"), "Detached <div>");
    EXPECT_EQ(normalise_site("<span>"), "<span>");
    EXPECT_EQ(normalise_site("Detached Node / InternalNode"), "Detached Node / InternalNode");
}

TEST(NormaliseSite, DropsArgumentsTemplatesAndClones) {
    EXPECT_EQ(normalise_site("ns::Cache<int, std::string>::put(int const&) [clone .isra.0]"),
              "ns::Cache::put");
    EXPECT_EQ(normalise_site("  cacheSession "), "cacheSession");
    EXPECT_EQ(normalise_site("operator new(unsigned long)"), "operator new");
}

TEST(HolderShape, V8NamesOfTheProgramAreLeftOut) {
    const auto a = holder_shape("node", k_sessions_path);
    EXPECT_EQ(a, (std::vector<std::string>{"(GC roots)", "system/NativeContext", "Map",
                                           "system/OrderedHashMap", "[]", "object"}));
    EXPECT_EQ(a, holder_shape("node", k_orders_path));
    EXPECT_NE(a, holder_shape("node", k_listener_path));
}

TEST(HolderShape, V8NodeTypesKeepTheirParentheses) {
    // shape_text writes V8's own node types, "(closure)", "(array)", in parentheses as it writes
    // classes: they stay apart from the program's classes.
    EXPECT_EQ(holder_shape("node", {"global / ", "property `get process` (closure)",
                                    "internal `context` (system / Context)",
                                    "context `_process` (process)", "internal `elements` (array)"}),
              (std::vector<std::string>{"global", "(closure)", "system/Context", "(process)",
                                        "(array)"}));
}

TEST(HolderShape, NativeRootKindAndContainers) {
    const std::vector<std::string> steps = {
        "global g_cache (demo) at cache.cpp:12",
        "std::__detail::_Hashtable::_M_rehash in SessionCache::put (session_cache.cpp:40)",
        "operator new in SessionCache::put (session_cache.cpp:41)"};
    EXPECT_EQ(holder_shape("native", steps), (std::vector<std::string>{"global", "hash", "block"}));
    EXPECT_EQ(holder_shape("native", {"stack of thread 1"}), (std::vector<std::string>{"stack"}));
}

TEST(Match, LearnedShapeMatchesAnotherProgramButNotAnotherShape) {
    Pattern learned;
    learned.id = "LEAK-1";
    learned.title = "session cache without eviction";
    learned.fix = "an LRU of 10k entries";
    learned.signature = signature_of({"node", "cacheSession", k_sessions_path});
    const std::vector<Pattern> lib{learned};
    const auto same = match(signature_of({"node", "rememberOrder", k_orders_path}), lib);
    ASSERT_TRUE(same.has_value());
    EXPECT_EQ(same->pattern->id, "LEAK-1");
    EXPECT_EQ(describe(*same),
              "looks like LEAK-1 `session cache without eviction`, fixed by an LRU of 10k entries");
    // Another shape: not the learned pattern (the built-in listener pattern instead).
    const auto other = match(signature_of({"node", "subscribe", k_listener_path}), lib);
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(other->pattern->id, "node-listener");
    // Another runtime with the same site: nothing.
    EXPECT_FALSE(match(signature_of({"python", "cacheSession", {}}), lib).has_value());
    // The same site without a holder (suspects alone): the learned pattern.
    const auto by_site = match(signature_of({"node", "cacheSession", {}}), lib);
    ASSERT_TRUE(by_site.has_value());
    EXPECT_EQ(by_site->how, "same site cacheSession");
}

TEST(Match, BuiltInNodePatternsNameTheTimerAndTheStreamBuffer) {
    // Real paths (tests/victims/node/service.js, modes interval and stream): the Timeout list of
    // an interval per request, and a Writable's buffer behind a consumer that takes too little.
    const std::vector<std::string> interval = {"global / ",
                                               "property `clearTimeout` (closure)",
                                               "internal `context` (system / Context)",
                                               "context `timerListMap` (Object)",
                                               "element [] (TimersList)",
                                               "property `_idleNext` (Timeout)",
                                               "property `_idleNext` (Timeout) [a chain of these]",
                                               "property `_onTimeout` (closure)"};
    const auto timer = match(signature_of({"node", "startPolling", interval}), {});
    ASSERT_TRUE(timer.has_value());
    EXPECT_EQ(timer->pattern->id, "node-timer");
    const std::vector<std::string> stream = {"global / ",
                                             "property `get process` (closure)",
                                             "internal `context` (system / Context)",
                                             "context `auditLog` (Writable)",
                                             "property `_writableState` (WritableState)",
                                             "property `<symbol kBufferedValue>` (Array)",
                                             "element [] (Object)",
                                             "property `chunk` (Object)"};
    const auto buffered = match(signature_of({"node", "writeAudit", stream}), {});
    ASSERT_TRUE(buffered.has_value());
    EXPECT_EQ(buffered->pattern->id, "node-stream-backpressure");
    EXPECT_NE(buffered->pattern->fix.find("'drain'"), std::string::npos);
    // The same stream in a Map of connections is still the stream's buffer, not the Map.
    std::vector<std::string> in_map = stream;
    in_map.insert(in_map.begin() + 3,
                  {"context `connections` (Map)", "internal `table` (system / OrderedHashMap)"});
    EXPECT_EQ(match(signature_of({"node", "writeAudit", in_map}), {})->pattern->id,
              "node-stream-backpressure");
}

TEST(Match, ADetachedDomTreeIsNamedByItsClassWhateverHoldsIt) {
    const std::vector<std::string> held = {"Window / global", "context `removed` (Array)",
                                           "element [] (Detached <div>)"};
    const auto m = match(signature_of({"node", "Detached <div class=\"row\">", held}), {});
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->pattern->id, "node-detached-dom");
    EXPECT_NE(m->pattern->fix.find("WeakRef"), std::string::npos);
    EXPECT_EQ(match(signature_of({"node", "Detached HTMLDivElement", held}), {})->pattern->id,
              "node-detached-dom");
    // Node's own natives are not DOM elements.
    const auto native = match(signature_of({"node", "Detached Node / InternalNode", held}), {});
    EXPECT_TRUE(!native || native->pattern->id != "node-detached-dom");
}

TEST(Match, ALearnedShapeMatchesWhateverWayLeadsToItsOwner) {
    // Real paths of two programs (hunt on service.js cache, then on orders.js): the same Map in a
    // module variable, reached once through the global and once through a SIGTERM handler.
    const std::vector<std::string> first = {"global / ",
                                            "property `queueMicrotask` (closure)",
                                            "internal `context` (system / Context)",
                                            "context `sessions` (Map)",
                                            "internal `table` (array)",
                                            "internal [] (Object)",
                                            "property `roles` (Array)",
                                            "internal `elements` (array)"};
    const std::vector<std::string> second = {"global / ",
                                             "property `queueMicrotask` (closure)",
                                             "internal `context` (system / Context)",
                                             "context `process` (process)",
                                             "property `_events` (Object)",
                                             "property `SIGTERM` (closure)",
                                             "internal `context` (system / Context)",
                                             "context `processed` (Map)",
                                             "internal `table` (array)",
                                             "internal [] (Object)",
                                             "property `lines` (Array)",
                                             "internal `elements` (array)"};
    Pattern learned;
    learned.id = "LEAK-1";
    learned.title = "session cache without eviction";
    learned.signature = signature_of({"node", "cacheSession", first});
    const std::vector<Pattern> lib{learned};
    const auto m = match(signature_of({"node", "listOnTimeout", second}), lib);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->pattern->id, "LEAK-1");
    EXPECT_EQ(m->how.rfind("same holder shape below its owner: ... > ", 0), 0u) << m->how;
    // Another run explains the Map's table rather than its entries: the same Map in a module.
    const std::vector<std::string> table(second.begin(), second.begin() + 9);
    const auto by_owner = match(signature_of({"node", "listOnTimeout", table}), lib);
    ASSERT_TRUE(by_owner.has_value());
    EXPECT_EQ(by_owner->pattern->id, "LEAK-1");
    EXPECT_EQ(by_owner->how, "the same collection in the same kind of owner: system/Context > Map");
    // A listener list ends the same way only in its last steps: not the learned leak.
    const auto other = match(signature_of({"node", "subscribe", k_listener_path}), lib);
    ASSERT_TRUE(other.has_value());
    EXPECT_NE(other->pattern->id, "LEAK-1");
}

TEST(Match, BuiltinsNeedTheirTokensInOrder) {
    const auto map = match(signature_of({"node", "f", k_sessions_path}), {});
    ASSERT_TRUE(map.has_value());
    EXPECT_EQ(map->pattern->id, "node-global-map");
    const auto native = match({"native", "put", {"global", "tree", "block"}}, {});
    ASSERT_TRUE(native.has_value());
    EXPECT_EQ(native->pattern->id, "native-global-map");
    EXPECT_FALSE(match({"native", "put", {"stack", "tree", "block"}}, {}).has_value());
    EXPECT_FALSE(match({"native", "put", {"tree", "global"}}, {}).has_value());
    const auto lru = match({"python", "functools.lru_cache.wrapper", {}}, {});
    ASSERT_TRUE(lru.has_value());
    EXPECT_EQ(lru->pattern->id, "python-lru-cache");
}

// What `paths` prints for a Java static map and a Python module-level dict (a hunt on
// tests/victims/java/.../SessionLeak.java and tests/victims/python/registry_server.py).
const std::vector<std::string> k_java_static_path = {
    "class com.example.SessionLeak",
    "static field `SESSIONS` (java.util.concurrent.ConcurrentHashMap)",
    "field `table` (java.util.concurrent.ConcurrentHashMap$Node[])",
    "element [] (java.util.concurrent.ConcurrentHashMap$Node)",
    "field `val` (com.example.Session)"};
const std::vector<std::string> k_python_module_path = {"module `__main__`",
                                                       "global `SESSIONS` (dict)"};

TEST(HolderShape, JavaAndPythonRootsByKind) {
    EXPECT_EQ(holder_shape("java", k_java_static_path),
              (std::vector<std::string>{"class", "static", "java.util.concurrent.ConcurrentHashMap",
                                        "java.util.concurrent.ConcurrentHashMap$Node[]", "[]",
                                        "java.util.concurrent.ConcurrentHashMap$Node", "object"}));
    EXPECT_EQ(holder_shape("python", k_python_module_path),
              (std::vector<std::string>{"module", "dict"}));
    EXPECT_EQ(holder_shape("python", {"class `Cache`", "class attribute `items` (list)"}),
              (std::vector<std::string>{"class", "list"}));
    EXPECT_EQ(holder_shape("python", {"handle", "local `seen` (set)"}),
              (std::vector<std::string>{"frame", "set"}));
}

TEST(Match, BuiltinsOfJavaAndPythonMeetTheirPaths) {
    const auto java = match(signature_of({"java", "com.example.Session", k_java_static_path}), {});
    ASSERT_TRUE(java.has_value());
    EXPECT_EQ(java->pattern->id, "java-static-collection");
    const auto python = match(signature_of({"python", "register", k_python_module_path}), {});
    ASSERT_TRUE(python.has_value());
    EXPECT_EQ(python->pattern->id, "python-module-registry");
    // A dict held by a frame is no module-level registry.
    EXPECT_FALSE(match(signature_of({"python", "handle", {"handle", "local `seen` (dict)"}}), {})
                     .has_value());
}

class PatternsFile : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir = std::filesystem::temp_directory_path() /
                ("patterns_test." + std::to_string(::getpid()));
        std::filesystem::create_directories(m_dir);
    }
    void TearDown() override { std::filesystem::remove_all(m_dir); }
    std::filesystem::path m_dir;
};

TEST_F(PatternsFile, RoundTripAndNextId) {
    const auto path = m_dir / "sub" / "patterns.json";
    EXPECT_TRUE(load_patterns(path).empty());
    Pattern p;
    p.id = next_id({});
    EXPECT_EQ(p.id, "LEAK-1");
    p.title = "t";
    p.fix = "f";
    p.link = "https://example.com/4521";
    p.signature = {"native", "SessionCache::put", {"global", "hash"}};
    save_patterns(path, {p});
    const auto back = load_patterns(path);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].id, "LEAK-1");
    EXPECT_EQ(back[0].link, p.link);
    EXPECT_EQ(back[0].signature, p.signature);
    EXPECT_EQ(next_id(back), "LEAK-2");
}

TEST_F(PatternsFile, ErrorsNameTheFileAndField) {
    const auto expect_error = [&](const std::string& text, const std::string& part) {
        try {
            parse_patterns(text, "team.json");
            ADD_FAILURE() << "no error for " << text;
        } catch (const util::Error& e) {
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("team.json"), std::string::npos) << e.what();
        }
    };
    expect_error("{", "not JSON");
    expect_error(R"({"version": 2, "patterns": []})", "`version`");
    expect_error(R"({"version": 1})", "`patterns`");
    expect_error(
        R"({"version": 1, "patterns": [{"id": "LEAK-1", "fix": "x", "signature": {"runtime": "node", "site": "a"}}]})",
        "patterns[0]: field `title`");
    expect_error(
        R"({"version": 1, "patterns": [{"id": "LEAK-1", "title": "t", "fix": "x", "signature": {"runtime": "node", "holder": [1]}}]})",
        "`holder`");
    expect_error(
        R"({"version": 1, "patterns": [{"id": "LEAK-1", "title": "t", "fix": "x", "signature": {"runtime": "node"}}]})",
        "neither");
}

TEST_F(PatternsFile, DefaultPathFollowsXdgDataHome) {
    ::setenv("XDG_DATA_HOME", m_dir.c_str(), 1);
    EXPECT_EQ(default_patterns_path(), m_dir / "leakhunt" / "patterns.json");
    ::unsetenv("XDG_DATA_HOME");
}

}  // namespace
}  // namespace leakhunt::patterns
