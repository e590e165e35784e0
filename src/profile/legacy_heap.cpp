// The text heap formats, line by line over a string_view cursor. The grammar, as the producers
// write it and pprof's legacy_profile.go accepts it:
//
//   gperftools / Go:  heap profile: <inuse objs>: <inuse bytes> [<alloc objs>: <alloc bytes>] @
//   KIND
//                     <inuse objs>: <inuse bytes> [<alloc objs>: <alloc bytes>] @ 0x.. 0x..   (one
//                     per stack)
//   jemalloc:         heap_v2/RATE
//                       t*: <objs>: <bytes> [<accum objs>: <accum bytes>]    (totals)
//                       t<N>: ...                                            (per thread; ignored)
//                     @ 0x.. 0x..
//                       t*: ...                                              (this stack's totals)
//   both, then:       MAPPED_LIBRARIES: (or --- Memory map: ---) followed by /proc/PID/maps
//                     lines, or pprof's short ones `START-END: PATH` (see parse_maps_line)
//
// KIND is `heapprofile` (every allocation recorded: no scaling), `heap_v2/RATE` or `heapz_v2/RATE`
// (sampled on average every RATE bytes), or `heap/RATE` (Go's legacy text, whose header holds
// twice the sampling rate). A sampled pair (count, size) is un-sampled with the Poisson scale
// 1 / (1 - exp(-(size / count) / RATE)), the probability that a block of the average size was
// sampled; RATE <= 1 means every allocation was seen. Allocation totals ([...]) are only
// meaningful when the header's differ from the in-use ones and are not zero (pprof's rule);
// otherwise the alloc values are the in-use values, the best lower bound the file gives.
// Go's debug=1 text names each frame in a comment (`#\t0xPC\tfunc+0xOFF\tfile:line`); those
// become the locations' functions and lines, as Go's own protobuf profiles carry them.
#include "profile/legacy_heap.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "profile/text_cursor.hpp"
#include "util/error.hpp"

namespace leakhunt::profile {
namespace {

using namespace text_cursor;

constexpr std::string_view k_gperf_header = "heap profile:";
constexpr std::string_view k_jemalloc_header = "heap_v2/";
constexpr std::string_view k_maps_sentinel = "MAPPED_LIBRARIES:";
constexpr std::string_view k_maps_sentinel_alt = "--- Memory map: ---";

// The four numbers of "A: B [C: D]".
struct Counts {
    int64_t inuse_objects = 0;
    int64_t inuse_bytes = 0;
    int64_t alloc_objects = 0;
    int64_t alloc_bytes = 0;
};

bool take_counts(std::string_view& s, Counts& c) {
    return take_int(s, c.inuse_objects) && take_char(s, ':') && take_int(s, c.inuse_bytes) &&
           take_char(s, '[') && take_int(s, c.alloc_objects) && take_char(s, ':') &&
           take_int(s, c.alloc_bytes) && take_char(s, ']');
}

// Hex addresses "0x1 0x2 ..." (the rest of a line after '@'); false on anything else.
bool take_addresses(std::string_view s, std::vector<uint64_t>& out) {
    out.clear();
    while (true) {
        skip_spaces(s);
        if (s.empty() || s == "\r") return true;
        if (!take_prefix(s, "0x") && !take_prefix(s, "0X")) return false;
        uint64_t a = 0;
        const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), a, 16);
        if (ec != std::errc{} || ptr == s.data()) return false;
        s.remove_prefix(static_cast<size_t>(ptr - s.data()));
        out.push_back(a);
    }
}

bool is_maps_sentinel(std::string_view line) {
    line = trim(line);
    return line == k_maps_sentinel || line == k_maps_sentinel_alt;
}

// How the header says the values were sampled.
struct Sampling {
    int64_t rate = 1;  // mean bytes between samples; <= 1: every allocation
    bool has_alloc = false;
    std::string description;
};

Sampling sampling_of(const Counts& totals, std::string_view kind, int64_t rate) {
    Sampling s;
    s.has_alloc = (totals.alloc_objects != totals.inuse_objects && totals.alloc_objects != 0) ||
                  (totals.alloc_bytes != totals.inuse_bytes && totals.alloc_bytes != 0);
    if (kind == "heapprofile") {
        s.rate = 1;
        s.description = "gperftools heap profile (every allocation)";
    } else if (kind == "heap") {
        s.rate = rate / 2;  // Go's legacy header holds 2 * MemProfileRate
        s.description = fmt::format("Go legacy heap profile (sampled every {} bytes)", s.rate);
    } else {
        s.rate = rate;
        s.description = fmt::format("heap_v2 profile (sampled every {} bytes)", rate);
    }
    return s;
}

// pprof's scaleHeapSample: the expected number of allocations behind `count` samples.
bool unsample(int64_t& count, int64_t& size, int64_t rate) {
    if (count == 0 || size == 0) {
        count = size = 0;
        return true;
    }
    if (rate <= 1) return true;
    const double avg = static_cast<double>(size) / static_cast<double>(count);
    const double scale = 1.0 / (1.0 - std::exp(-avg / static_cast<double>(rate)));
    const double c = static_cast<double>(count) * scale;
    const double b = static_cast<double>(size) * scale;
    constexpr double k_limit = 9.0e18;
    if (!std::isfinite(c) || !std::isfinite(b) || std::fabs(c) > k_limit || std::fabs(b) > k_limit)
        return false;
    count = static_cast<int64_t>(c);
    size = static_cast<int64_t>(b);
    return true;
}

bool allocator_library(const std::string& filename) {
    const size_t slash = filename.rfind('/');
    const std::string_view base =
        std::string_view(filename).substr(slash == std::string::npos ? 0 : slash + 1);
    return base.starts_with("libjemalloc") || base.starts_with("libtcmalloc");
}

class Builder {
  public:
    Builder(const Context& ctx, const Sampling& sampling)
        : m_ctx(ctx), m_sampling(sampling), m_profile(make_heap_profile()) {
        m_profile.period = sampling.rate;
        m_profile.comments.push_back("read by leakhunt from a " + sampling.description);
        if (!sampling.has_alloc) {
            m_profile.comments.push_back(
                "alloc_objects and alloc_space are the in-use values: the file has no "
                "allocation totals");
        }
    }

    void add(size_t line, Counts c, const std::vector<uint64_t>& stack) {
        if (c.inuse_objects == 0 && c.inuse_bytes != 0)
            m_ctx.fail(line, "in-use count was 0 but in-use bytes was {}", c.inuse_bytes);
        if (c.alloc_objects == 0 && c.alloc_bytes != 0)
            m_ctx.fail(line, "allocation count was 0 but allocation bytes was {}", c.alloc_bytes);
        int64_t block = 0;
        if (c.inuse_objects != 0) {
            block = c.inuse_bytes / c.inuse_objects;
        } else if (c.alloc_objects != 0) {
            block = c.alloc_bytes / c.alloc_objects;
        }
        if (!unsample(c.inuse_objects, c.inuse_bytes, m_sampling.rate) ||
            !unsample(c.alloc_objects, c.alloc_bytes, m_sampling.rate)) {
            m_ctx.fail(line, "the values are too large to un-sample");
        }
        if (!m_sampling.has_alloc) {
            c.alloc_objects = c.inuse_objects;
            c.alloc_bytes = c.inuse_bytes;
        }
        Sample s;
        s.values = {c.alloc_objects, c.alloc_bytes, c.inuse_objects, c.inuse_bytes};
        if (block > 0) {
            Label label;
            label.key = "bytes";
            label.num = block;
            s.labels.push_back(std::move(label));
        }
        m_pending.push_back({std::move(s), stack});
    }

    // A Go debug=1 comment line "#\t0xPC\tfunction+0xOFF\tfile:line": PC is the return
    // address - 1 already, i.e. our location address. Frames of one PC come callee first.
    void add_symbol(std::string_view comment) {
        std::string_view s = comment.substr(1);
        skip_spaces(s);
        uint64_t pc = 0;
        if (!take_prefix(s, "0x")) return;
        const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), pc, 16);
        if (ec != std::errc{} || ptr == s.data()) return;
        s.remove_prefix(static_cast<size_t>(ptr - s.data()));
        skip_spaces(s);
        const size_t fn_end = s.find_first_of(" \t");
        std::string_view fn = s.substr(0, fn_end);
        if (const size_t plus = fn.rfind("+0x"); plus != std::string_view::npos) {
            fn = fn.substr(0, plus);
        }
        if (fn.empty()) return;
        std::string_view where =
            fn_end == std::string_view::npos ? std::string_view{} : trim(s.substr(fn_end));
        int64_t line = 0;
        std::string_view file = where;
        if (const size_t colon = where.rfind(':'); colon != std::string_view::npos) {
            std::string_view n = where.substr(colon + 1);
            if (take_int(n, line) && n.empty())
                file = where.substr(0, colon);
            else
                line = 0;
        }
        // Every sample repeats the frames of its PCs: keep those of the first sample only.
        auto [it, inserted] = m_symbols.try_emplace(pc);
        if (inserted) it->second.sample = m_pending.size();
        if (it->second.sample != m_pending.size() || it->second.frames.size() >= 64) return;
        it->second.frames.push_back({std::string(fn), std::string(file), line});
    }

    // Resolves the addresses against `mappings` and returns the profile.
    Profile finish(std::vector<Mapping> mappings) {
        m_profile.mappings = std::move(mappings);
        m_by_start.resize(m_profile.mappings.size());
        for (size_t i = 0; i < m_by_start.size(); ++i) m_by_start[i] = i;
        std::sort(m_by_start.begin(), m_by_start.end(), [&](size_t a, size_t b) {
            return m_profile.mappings[a].memory_start < m_profile.mappings[b].memory_start;
        });
        for (auto& [sample, stack] : m_pending) {
            size_t first = 0;
            // The allocator's own frames at the leaf (jemalloc records them): keep its caller.
            while (first + 1 < stack.size()) {
                const Mapping* m = mapping_of(stack[first] - (stack[first] > 0 ? 1 : 0));
                if (m == nullptr || !allocator_library(m->filename)) break;
                ++first;
            }
            for (size_t i = first; i < stack.size(); ++i) {
                // Return addresses: step back onto the call instruction, as pprof does.
                sample.location_ids.push_back(location(stack[i] > 0 ? stack[i] - 1 : 0));
            }
            m_profile.samples.push_back(std::move(sample));
        }
        attach_symbols();
        return std::move(m_profile);
    }

  private:
    struct Symbol {
        std::string function;
        std::string file;
        int64_t line = 0;
    };

    void attach_symbols() {
        if (m_symbols.empty()) return;
        std::unordered_map<std::string, uint64_t> function_ids;
        for (auto& l : m_profile.locations) {
            auto it = m_symbols.find(l.address);
            if (it == m_symbols.end()) continue;
            for (const Symbol& sym : it->second.frames) {
                auto [f, inserted] = function_ids.try_emplace(sym.function + '\0' + sym.file,
                                                              m_profile.functions.size() + 1);
                if (inserted) {
                    Function fn;
                    fn.id = f->second;
                    fn.name = fn.system_name = sym.function;
                    fn.filename = sym.file;
                    m_profile.functions.push_back(std::move(fn));
                }
                Line line;
                line.function_id = f->second;
                line.line = sym.line;
                l.lines.push_back(line);
            }
        }
    }

    const Mapping* mapping_of(uint64_t address) const {
        auto it = std::upper_bound(
            m_by_start.begin(), m_by_start.end(), address,
            [&](uint64_t a, size_t i) { return a < m_profile.mappings[i].memory_start; });
        if (it == m_by_start.begin()) return nullptr;
        const Mapping& m = m_profile.mappings[*std::prev(it)];
        return address < m.memory_limit ? &m : nullptr;
    }

    uint64_t location(uint64_t address) {
        auto [it, inserted] = m_locations.try_emplace(address, m_profile.locations.size() + 1);
        if (inserted) {
            const Mapping* m = mapping_of(address);
            Location l;
            l.id = it->second;
            l.mapping_id = m != nullptr ? m->id : 0;
            l.address = address;
            m_profile.locations.push_back(std::move(l));
        }
        return it->second;
    }

    const Context& m_ctx;
    Sampling m_sampling;
    Profile m_profile;
    std::vector<std::pair<Sample, std::vector<uint64_t>>> m_pending;
    std::unordered_map<uint64_t, uint64_t> m_locations;
    std::vector<size_t> m_by_start;
    struct Symbols {
        size_t sample = 0;  // the number of samples read when the first comment came
        std::vector<Symbol> frames;
    };
    std::unordered_map<uint64_t, Symbols> m_symbols;
};

// The mappings after the sentinel line, if any; `lines` is positioned after the samples.
std::vector<Mapping> read_maps_section(Lines& lines, const Context& ctx) {
    return parse_proc_maps(lines.rest(), ctx.source(), lines.number() + 1);
}

// Throws unless KIND is one this reader knows. Other kinds share the header but are not what
// the heap holds: gperftools' `growthz` lists the stacks that grew the heap (never freed, never
// shrunk), `fragmentationz` the stacks behind fragmented pages. A well-formed file of those is
// not corrupt, so the error says what it is instead of "take it again".
void check_heap_kind(std::string_view kind, const Context& ctx) {
    if (kind == "heapprofile" || kind == "heap" || kind == "heap_v2" || kind == "heapz_v2") return;
    std::string shown(kind.substr(0, 40));  // untrusted: letters, digits and _ only
    for (char& c : shown) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '?';
    }
    if (kind == "growthz" || kind == "growth" || kind == "fragmentationz" ||
        kind == "fragmentation") {
        throw util::Error(
            "cannot read {}:1: it is a gperftools `{}` profile ({}), a kind leakhunt does not "
            "read; give it a heap profile (`@ heapprofile`, `heap_v2/RATE` or `heapz_v2/RATE`: "
            "HEAPPROFILE=, MallocExtension::GetHeapSample, /pprof/heap)",
            ctx.source(), shown,
            kind.starts_with("growth")
                ? "the stacks that grew the heap, not what it holds"
                : "the stacks behind fragmented pages, not what the heap holds");
    }
    throw util::Error(
        "cannot read {}:1: `heap profile: ... @ {}` is a kind of heap profile leakhunt does not "
        "read (it reads heapprofile, heap/RATE, heap_v2/RATE and heapz_v2/RATE)",
        ctx.source(), shown);
}

// "heap profile: A: B [C: D] @ KIND[/RATE]" and its sample lines.
Profile parse_gperftools(Lines& lines, std::string_view header, const Context& ctx) {
    std::string_view h = trim(header);
    h.remove_prefix(k_gperf_header.size());
    Counts totals;
    if (!take_counts(h, totals) || !take_char(h, '@')) {
        ctx.fail(1, "the header is not `heap profile: N: BYTES [N: BYTES] @ KIND`");
    }
    skip_spaces(h);
    const size_t slash = h.find('/');
    const std::string_view kind = trim(h.substr(0, slash));
    check_heap_kind(kind, ctx);
    int64_t rate = 0;
    if (slash != std::string_view::npos) {
        std::string_view r = h.substr(slash + 1);
        if (!take_int(r, rate) || !trim(r).empty() || rate < 0)
            ctx.fail(1, "the sampling rate after `{}/` is not a number", kind);
    }
    Builder builder(ctx, sampling_of(totals, kind, rate));
    std::string_view line;
    std::vector<uint64_t> stack;
    while (lines.next(line)) {
        const std::string_view t = trim(line);
        if (t.empty()) continue;
        if (t.front() == '#') {
            builder.add_symbol(t);
            continue;
        }
        if (is_maps_sentinel(t)) return builder.finish(read_maps_section(lines, ctx));
        std::string_view s = t;
        Counts c;
        if (!take_counts(s, c) || !take_char(s, '@') || !take_addresses(s, stack)) {
            ctx.fail(lines.number(), "expected `N: BYTES [N: BYTES] @ 0x... 0x...`, found `{}`",
                     t.substr(0, 80));
        }
        builder.add(lines.number(), c, stack);
    }
    return builder.finish({});
}

// jemalloc's "heap_v2/RATE" dump.
Profile parse_jemalloc(Lines& lines, std::string_view header, const Context& ctx) {
    std::string_view h = trim(header);
    h.remove_prefix(k_jemalloc_header.size());
    int64_t rate = 0;
    if (!take_int(h, rate) || !trim(h).empty() || rate < 0)
        ctx.fail(1, "the sampling rate after `heap_v2/` is not a number");

    // A "t*: ..." or "t<N>: ..." line; returns true for "t*".
    auto thread_line = [&](std::string_view t, Counts& c) {
        std::string_view s = t;
        if (!take_prefix(s, "t")) return false;
        bool total = false;
        if (take_prefix(s, "*")) {
            total = true;
        } else {
            int64_t thread = 0;
            if (!take_int(s, thread) || thread < 0) {
                ctx.fail(lines.number(), "expected `t*:` or `t<thread>:`, found `{}`",
                         t.substr(0, 80));
            }
        }
        if (!take_char(s, ':') || !take_counts(s, c) || !trim(s).empty()) {
            ctx.fail(lines.number(), "expected `t*: N: BYTES [N: BYTES]`, found `{}`",
                     t.substr(0, 80));
        }
        return total;
    };

    std::string_view line;
    std::string_view t;
    while (lines.next(line)) {  // the totals
        t = trim(line);
        if (!t.empty()) break;
    }
    Counts totals;
    if (t.empty() || !thread_line(t, totals))
        ctx.fail(lines.number(), "expected the totals line `t*: N: BYTES [N: BYTES]`");
    Builder builder(ctx, sampling_of(totals, "heap_v2", rate));
    std::vector<uint64_t> stack;
    bool in_stack = false;  // an "@" line was read, its "t*:" not yet
    size_t stack_line = 0;
    while (lines.next(line)) {
        t = trim(line);
        if (t.empty()) continue;
        if (is_maps_sentinel(t)) {
            if (in_stack) ctx.fail(stack_line, "the stack has no `t*:` line");
            return builder.finish(read_maps_section(lines, ctx));
        }
        if (t.front() == '@') {
            if (in_stack) ctx.fail(stack_line, "the stack has no `t*:` line");
            if (!take_addresses(t.substr(1), stack))
                ctx.fail(lines.number(), "expected `@ 0x... 0x...`, found `{}`", t.substr(0, 80));
            in_stack = true;
            stack_line = lines.number();
            continue;
        }
        Counts c;
        const bool total = thread_line(t, c);
        if (total) {
            if (!in_stack) ctx.fail(lines.number(), "a `t*:` line outside a stack");
            builder.add(lines.number(), c, stack);
            in_stack = false;
        }
    }
    if (in_stack) ctx.fail(stack_line, "the stack has no `t*:` line");
    return builder.finish({});
}

}  // namespace

bool is_legacy_heap(std::string_view bytes) {
    while (!bytes.empty() && is_space(bytes.front())) bytes.remove_prefix(1);
    return bytes.starts_with(k_gperf_header) || bytes.starts_with(k_jemalloc_header);
}

Profile parse_legacy_heap(std::string_view text, std::string_view source_name) {
    const Context ctx(source_name);
    Lines lines(text);
    std::string_view header;
    while (lines.next(header) && trim(header).empty()) {
    }
    header = trim(header);
    if (header.starts_with(k_gperf_header)) return parse_gperftools(lines, header, ctx);
    if (header.starts_with(k_jemalloc_header)) return parse_jemalloc(lines, header, ctx);
    throw util::Error(
        "cannot read {}: not a gperftools or jemalloc heap profile (it does not start with "
        "`heap profile:` or `heap_v2/`)",
        source_name);
}

}  // namespace leakhunt::profile
