// Reading the bootstrap's snapshot file (pytrace.hpp) and building its heap profile.
#include "capture/python/pytrace.hpp"

#include <charconv>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "util/error.hpp"

namespace leakhunt::capture::python {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// A cursor over one line's space-separated fields.
class Fields {
  public:
    Fields(std::string_view line, std::string_view where, size_t number)
        : m_rest(line), m_where(where), m_number(number) {}

    [[noreturn]] void fail(std::string_view what) const {
        throw util::Error(
            "{}:{}: {} (the file is not a complete leakhunt-pytrace 1 snapshot; "
            "was it written by this leakhunt's bootstrap?)",
            m_where, m_number, what);
    }

    bool done() const { return m_rest.empty(); }

    std::string_view next(std::string_view what) {
        if (m_rest.empty()) fail(fmt::format("{} is missing", what));
        const size_t sp = m_rest.find(' ');
        const std::string_view f = m_rest.substr(0, sp);
        m_rest = sp == std::string_view::npos ? std::string_view{} : m_rest.substr(sp + 1);
        if (f.empty()) fail(fmt::format("{} is empty (two spaces)", what));
        return f;
    }

    int64_t integer(std::string_view what, int64_t min, int64_t max) {
        const std::string_view f = next(what);
        int64_t v = 0;
        const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
        if (ec != std::errc{} || end != f.data() + f.size() || v < min || v > max) {
            fail(fmt::format("{} \"{}\" is not a whole number from {} to {}", what, f.substr(0, 40),
                             min, max));
        }
        return v;
    }

    double number(std::string_view what) {
        const std::string_view f = next(what);
        double v = 0;
        const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
        if (ec != std::errc{} || end != f.data() + f.size() || !std::isfinite(v) || v < 0) {
            fail(fmt::format("{} \"{}\" is not a number", what, f.substr(0, 40)));
        }
        return v;
    }

    std::string text(std::string_view what) {
        const std::string_view f = next(what);
        bool ok = true;
        std::string s = decode_field(f, &ok);
        if (!ok) fail(fmt::format("{} has a malformed %-escape", what));
        if (s.size() > k_max_string) fail(fmt::format("{} is over {} bytes", what, k_max_string));
        return s;
    }

    void end() const {
        if (!m_rest.empty()) fail("the line has more fields than its record takes");
    }

  private:
    std::string_view m_rest;
    std::string_view m_where;
    size_t m_number;
};

constexpr int64_t k_max_value = int64_t{1} << 60;  // 1 EiB, or 2^60 blocks

}  // namespace

std::string decode_field(std::string_view field, bool* ok) {
    *ok = true;
    if (field == "%") return {};
    std::string out;
    out.reserve(field.size());
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '%') {
            out += field[i];
            continue;
        }
        const int hi = i + 2 < field.size() ? hex_digit(field[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_digit(field[i + 2]) : -1;
        if (lo < 0) {
            *ok = false;
            return {};
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

PyTraceFile parse_pytrace(std::string_view text, std::string_view where) {
    PyTraceFile out;
    size_t number = 0;
    bool ended = false;
    bool have_header = false;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        if (nl == std::string_view::npos) {
            throw util::Error("{}:{}: the last line has no end (the file was cut short)", where,
                              number + 1);
        }
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        ++number;
        Fields f(line, where, number);
        if (!have_header) {
            if (line != k_pytrace_magic) {
                f.fail(fmt::format("expected \"{}\" as the first line", k_pytrace_magic));
            }
            have_header = true;
            continue;
        }
        if (ended) f.fail("a line after the `end` trailer");
        const std::string_view kind = f.next("the record's kind");
        if (kind == "frame") {
            const auto id = f.integer("frame id", 0, static_cast<int64_t>(k_max_frames) - 1);
            if (static_cast<size_t>(id) != out.frames.size()) {
                f.fail(
                    fmt::format("frame id {} out of order (expected {})", id, out.frames.size()));
            }
            PyFrame frame;
            frame.line = f.integer("line", 0, INT32_MAX);
            frame.first_line = f.integer("first line", 0, INT32_MAX);
            frame.file = f.text("file name");
            frame.function = f.text("function name");
            out.frames.push_back(std::move(frame));
        } else if (kind == "trace") {
            if (out.traces.size() >= k_max_traces) {
                f.fail(fmt::format("more than {} tracebacks", k_max_traces));
            }
            PyTraceback t;
            t.bytes = f.integer("size", 0, k_max_value);
            t.blocks = f.integer("count", 0, k_max_value);
            while (!f.done()) {
                if (t.frames.size() >= k_max_trace_frames) {
                    f.fail(fmt::format("a traceback of more than {} frames", k_max_trace_frames));
                }
                const auto id = f.integer("frame id", 0, INT32_MAX);
                if (static_cast<size_t>(id) >= out.frames.size()) {
                    f.fail(fmt::format("frame {} is used before it is defined", id));
                }
                t.frames.push_back(static_cast<uint32_t>(id));
            }
            out.traces.push_back(std::move(t));
        } else if (kind == "time") {
            out.unix_time = f.number("time");
        } else if (kind == "traced_bytes") {
            out.traced_bytes = f.integer("traced_bytes", 0, k_max_value);
        } else if (kind == "traced_peak_bytes") {
            out.traced_peak_bytes = f.integer("traced_peak_bytes", 0, k_max_value);
        } else if (kind == "depth") {
            out.depth = static_cast<int>(f.integer("depth", 0, 65535));
        } else if (kind == "gc_objects") {
            out.gc_objects = f.integer("gc_objects", -1, k_max_value);
        } else if (kind == "gc_count" || kind == "gc_collections") {
            auto& v = kind == "gc_count" ? out.gc_count : out.gc_collections;
            for (auto& g : v) g = f.integer("generation's value", 0, k_max_value);
        } else if (kind == "dropped") {
            out.dropped_traces = f.integer("dropped tracebacks", 0, k_max_value);
            out.dropped_bytes = f.integer("dropped size", 0, k_max_value);
            out.dropped_blocks = f.integer("dropped count", 0, k_max_value);
        } else if (kind == "end") {
            const auto traces = f.integer("traceback count", 0, k_max_value);
            const auto frames = f.integer("frame count", 0, k_max_value);
            if (static_cast<size_t>(traces) != out.traces.size() ||
                static_cast<size_t>(frames) != out.frames.size()) {
                f.fail(
                    fmt::format("the trailer counts {} tracebacks and {} frames, the file has "
                                "{} and {}",
                                traces, frames, out.traces.size(), out.frames.size()));
            }
            ended = true;
        } else {
            f.fail(fmt::format("unknown record \"{}\"", kind.substr(0, 40)));
        }
        f.end();
    }
    if (!have_header) throw util::Error("{}: the file is empty", where);
    if (!ended) {
        throw util::Error("{}: no `end` trailer after line {}: the file was cut short", where,
                          number);
    }
    return out;
}

profile::Profile to_profile(const PyTraceFile& trace) {
    profile::Profile p = profile::make_heap_profile();
    p.period = 1;
    p.time_nanos = static_cast<int64_t>(trace.unix_time * 1e9);
    p.default_sample_type = "inuse_space";
    p.comments.push_back(fmt::format(
        "tracemalloc, {} frame{} per traceback; every block traced, alloc_* = inuse_* (live "
        "blocks only)",
        trace.depth, trace.depth == 1 ? "" : "s"));
    std::map<std::tuple<std::string_view, std::string_view, int64_t>, uint64_t> functions;
    std::map<std::pair<uint64_t, int64_t>, uint64_t> locations;
    std::vector<uint64_t> location_of(trace.frames.size());
    for (size_t i = 0; i < trace.frames.size(); ++i) {
        const PyFrame& f = trace.frames[i];
        auto [fit, fnew] = functions.try_emplace(
            std::make_tuple(std::string_view(f.function), std::string_view(f.file), f.first_line),
            p.functions.size() + 1);
        if (fnew) {
            p.functions.push_back(
                profile::Function{fit->second, f.function, f.function, f.file, f.first_line});
        }
        auto [lit, lnew] =
            locations.try_emplace(std::make_pair(fit->second, f.line), p.locations.size() + 1);
        if (lnew) {
            profile::Location loc;
            loc.id = lit->second;
            loc.address = lit->second;  // Python frames have no address; a unique stand-in
            loc.lines.push_back(profile::Line{fit->second, f.line, 0});
            p.locations.push_back(std::move(loc));
        }
        location_of[i] = lit->second;
    }
    for (const PyTraceback& t : trace.traces) {
        if (t.bytes == 0 && t.blocks == 0) continue;
        profile::Sample s;
        s.location_ids.reserve(t.frames.size());
        for (uint32_t id : t.frames) s.location_ids.push_back(location_of[id]);
        s.values = {t.blocks, t.bytes, t.blocks, t.bytes};
        p.samples.push_back(std::move(s));
    }
    if (trace.dropped_bytes > 0 || trace.dropped_blocks > 0) {
        p.comments.push_back(
            fmt::format("{} smaller tracebacks summed without frames", trace.dropped_traces));
        p.samples.push_back(profile::Sample{
            {},
            {trace.dropped_blocks, trace.dropped_bytes, trace.dropped_blocks, trace.dropped_bytes},
            {}});
    }
    return p;
}

}  // namespace leakhunt::capture::python
