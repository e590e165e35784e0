// group_goroutines: each sample's frames, the leaf-side plumbing folded into a state, summed by
// key.
#include "profile/goroutines.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "util/error.hpp"

namespace leakhunt::profile {
namespace {

// "net/http.(*conn).serve" -> "net/http"; "main.main.func1" -> "main". The package ends at the
// first '.' after its last '/' (a '/' inside a generic type's brackets does not count).
std::string_view package_of(std::string_view function) {
    const size_t bracket = function.find_first_of("([");
    const std::string_view head = function.substr(0, bracket);
    const size_t slash = head.rfind('/');
    const size_t dot = function.find('.', slash == std::string_view::npos ? 0 : slash);
    return function.substr(0, dot);
}

struct Frame {
    std::string function;
    std::string file;
    int64_t line = 0;
};

// The frames of `s`, leaf first (inlined lines callee first, as pprof keeps them).
std::vector<Frame> frames_of(const Profile& p, const Sample& s) {
    std::vector<Frame> out;
    for (uint64_t id : s.location_ids) {
        const Location* loc = find_location(p, id);
        if (loc == nullptr) continue;
        if (loc->lines.empty()) {
            out.push_back({fmt::format("0x{:x}", loc->address), "", 0});
            continue;
        }
        for (const Line& l : loc->lines) {
            const Function* f = find_function(p, l.function_id);
            if (f == nullptr) {
                out.push_back({fmt::format("0x{:x}", loc->address), "", l.line});
            } else {
                out.push_back({f->name, f->filename, l.line});
            }
        }
    }
    return out;
}

bool starts(std::string_view s, std::string_view prefix) {
    return s.starts_with(prefix);
}

}  // namespace

bool is_goroutine_profile(const Profile& p) {
    return sample_type_index(p, "goroutine").has_value();
}

int64_t goroutine_count(const Profile& p, std::string_view where) {
    const auto index = sample_type_index(p, "goroutine");
    if (!index) {
        throw util::Error(
            "{} is not a goroutine profile: it has no goroutine sample type (it "
            "has: {})",
            where, sample_type_names(p));
    }
    int64_t n = 0;
    for (const auto& s : p.samples) {
        if (*index < s.values.size()) n += s.values[*index];
    }
    return n;
}

bool is_blocking_plumbing(std::string_view function) {
    const std::string_view pkg = package_of(function);
    return pkg == "runtime" || starts(pkg, "runtime/internal/") || starts(pkg, "internal/") ||
           pkg == "syscall" || pkg == "sync" || pkg == "net" || pkg == "os" ||
           function == "time.Sleep";
}

std::string goroutine_state(std::span<const std::string_view> plumbing) {
    std::string state;
    bool parked = false;
    for (std::string_view f : plumbing) {
        std::string_view s;
        if (starts(f, "runtime.chanrecv"))
            s = "chan receive";
        else if (starts(f, "runtime.chansend"))
            s = "chan send";
        else if (f == "runtime.selectgo")
            s = "select";
        else if (f == "runtime.block")
            s = "select (no cases)";
        else if (f == "runtime.netpollblock" || f == "internal/poll.runtime_pollWait")
            s = "IO wait";
        else if (f == "time.Sleep" || f == "runtime.timeSleep")
            s = "sleep";
        else if (starts(f, "sync.runtime_Semacquire"))
            s = "semacquire";
        else if (f == "sync.(*Mutex).Lock" || f == "sync.(*Mutex).lockSlow")
            s = "sync.Mutex.Lock";
        else if (f == "sync.(*RWMutex).Lock")
            s = "sync.RWMutex.Lock";
        else if (f == "sync.(*RWMutex).RLock")
            s = "sync.RWMutex.RLock";
        else if (f == "sync.(*WaitGroup).Wait")
            s = "sync.WaitGroup.Wait";
        else if (f == "sync.runtime_notifyListWait" || f == "sync.(*Cond).Wait")
            s = "sync.Cond.Wait";
        else if (starts(f, "syscall.Syscall") || starts(f, "syscall.RawSyscall") ||
                 f == "runtime.cgocall" || starts(f, "runtime/internal/syscall."))
            s = "syscall";
        else if (f == "runtime.goroutineProfileWithLabels")
            s = "running";
        if (f == "runtime.gopark" || f == "runtime.goparkunlock") parked = true;
        if (!s.empty()) state = s;
    }
    if (!state.empty()) return state;
    return parked ? "waiting" : "running";
}

std::vector<GoroutineGroup> group_goroutines(const Profile& p, std::string_view where) {
    const auto index = sample_type_index(p, "goroutine");
    if (!index) (void)goroutine_count(p, where);  // throws, saying what the profile has
    std::map<std::string, GoroutineGroup> by_key;
    for (const auto& s : p.samples) {
        if (*index >= s.values.size() || s.values[*index] <= 0) continue;
        std::vector<Frame> frames = frames_of(p, s);
        std::erase_if(frames, [](const Frame& f) { return f.function == "runtime.goexit"; });
        size_t first = 0;
        while (first < frames.size() && is_blocking_plumbing(frames[first].function)) ++first;
        std::vector<std::string_view> plumbing;
        for (size_t i = 0; i < first; ++i) plumbing.push_back(frames[i].function);
        // All plumbing (a runtime goroutine): named by its root, its outermost frame.
        const size_t named =
            first < frames.size() ? first : (frames.empty() ? 0 : frames.size() - 1);
        GoroutineGroup g;
        g.state = goroutine_state(plumbing);
        g.key = g.state;
        if (!frames.empty()) {
            g.function = frames[named].function;
            g.file = frames[named].file;
            g.line = frames[named].line;
            for (size_t i = named; i < frames.size(); ++i) {
                g.key +=
                    fmt::format("\n{} {}:{}", frames[i].function, frames[i].file, frames[i].line);
            }
        } else {
            g.function = "(no stack)";
        }
        auto [it, inserted] = by_key.try_emplace(g.key, g);
        it->second.count += s.values[*index];
        (void)inserted;
    }
    std::vector<GoroutineGroup> out;
    out.reserve(by_key.size());
    for (auto& [key, g] : by_key) out.push_back(std::move(g));
    std::stable_sort(out.begin(), out.end(), [](const GoroutineGroup& a, const GoroutineGroup& b) {
        return a.count > b.count;
    });
    return out;
}

}  // namespace leakhunt::profile
