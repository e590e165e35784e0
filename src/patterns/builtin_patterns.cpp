// The built-in patterns (patterns.hpp): the leak shapes each runtime is known for, with the fix
// the field gives for each. More specific shapes come first: a listener held in an
// EventEmitter's array is also "held in an array".
#include "patterns/patterns.hpp"

namespace leakhunt::patterns {
namespace {

Pattern builtin(std::string id, std::string runtime, std::string title, std::string fix,
                std::vector<std::vector<std::string>> any_of,
                std::vector<std::string> site_contains = {}) {
    Pattern p;
    p.id = std::move(id);
    p.title = std::move(title);
    p.fix = std::move(fix);
    p.builtin = true;
    p.signature.runtime = std::move(runtime);
    p.any_of = std::move(any_of);
    p.site_contains = std::move(site_contains);
    return p;
}

std::vector<Pattern> make() {
    std::vector<Pattern> v;
    // Node.js. A stream's buffer first: whatever holds the stream (a Map of connections, a
    // timer), what grows is what it was asked to write.
    v.push_back(builtin("node-stream-backpressure", "node",
                        "writable stream buffering writes its consumer has not taken",
                        "stop writing when write() returns false and resume on 'drain' (or use "
                        "stream.pipeline / pipe, which do); bound or drop what a slow consumer "
                        "cannot take",
                        {{"WritableState"}}));
    // A removed DOM element that JavaScript still references, with the tree under it, whatever
    // holds it: DevTools names it "Detached <div>" (from its tag), Chrome's natives "Detached
    // HTMLDivElement" (node's own natives, "Detached Node / ...", are not elements).
    v.push_back(builtin("node-detached-dom", "node", "detached DOM tree kept by JavaScript",
                        "drop the references to removed elements (arrays, caches, closures, "
                        "listeners on them) or hold them in a WeakRef / WeakMap; remove "
                        "listeners before removing the element",
                        {}, {"Detached <", "Detached HTML", "Detached SVG"}));
    v.push_back(builtin("node-listener", "node", "listener added per request and never removed",
                        "remove it (emitter.off / once) when the request or object it serves ends",
                        {{"EventEmitter"}}));
    v.push_back(builtin("node-timer", "node", "timer or interval keeps its closure alive",
                        "clearTimeout / clearInterval when done, or timer.unref() for a "
                        "background task; do not capture large objects in its callback",
                        {{"Timeout", "TimersList", "Immediate"}}));
    v.push_back(builtin("node-global-map", "node", "unbounded Map in a module-level variable",
                        "bound it (an LRU with a size limit, or a TTL) or delete entries when "
                        "their request or session ends; a WeakMap if keyed by objects",
                        {{"Map", "Set"}}));
    // Native
    v.push_back(builtin("native-global-map", "native", "unbounded cache or map in a global",
                        "bound the container (LRU eviction, a size or age limit) or erase "
                        "entries when their owner ends",
                        {{"global", "tls"}, {"hash", "tree"}}));
    v.push_back(builtin("native-global-vector", "native",
                        "vector or list in a global that is only appended to",
                        "remove entries when done, or keep a bounded ring instead",
                        {{"global", "tls"}, {"vector", "list", "deque"}}));
    // Java
    v.push_back(builtin("java-threadlocal", "java", "ThreadLocal value in a pooled thread",
                        "call ThreadLocal.remove() in a finally block of the task; pool threads "
                        "live forever",
                        {{"java.lang.ThreadLocal$ThreadLocalMap"}}));
    v.push_back(builtin(
        "java-static-collection", "java", "static collection that only grows",
        "bound it (Caffeine/Guava cache with maximumSize), or remove entries; "
        "weak keys if keyed by objects with their own lifetime",
        {{"static"},
         {"java.util.HashMap", "java.util.ArrayList", "java.util.concurrent.ConcurrentHashMap",
          "java.util.HashSet", "java.util.LinkedList", "java.util.LinkedHashMap"}}));
    // Python
    v.push_back(builtin("python-lru-cache", "python", "functools.lru_cache(maxsize=None)",
                        "give it a maxsize (lru_cache(maxsize=1024)) or cache_clear() it; on a "
                        "method it also keeps every self alive",
                        {{"functools._lru_cache_wrapper"}}, {"lru_cache"}));
    v.push_back(builtin("python-module-registry", "python", "module-level registry (dict or list)",
                        "remove entries when done, use weakref.WeakValueDictionary, or bound it",
                        {{"module"}, {"dict", "list", "set"}}));
    return v;
}

}  // namespace

const std::vector<Pattern>& builtin_patterns() {
    static const std::vector<Pattern> patterns = make();
    return patterns;
}

}  // namespace leakhunt::patterns
