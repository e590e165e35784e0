// Aggregation of a heap profile into rows, as `leakhunt top`, `diff` and `suspects` show them and
// as `go tool pprof -top` does: by function, source line, file or module, with flat values (the
// samples whose allocation site is the row) and cumulative ones (the samples with the row
// anywhere on their stack, counted once per sample even under recursion). The allocation site of
// a sample is its first frame that is neither the leakhunt agent nor an allocator entry point
// (frames.hpp), and past that, the first frame of the user's code when library code (libstdc++,
// libc, std:: templates inlined from /usr/include) allocated on its behalf; the library frame it
// called is kept as the row's `callee` ("std::string", "operator new"). focus/ignore follow
// pprof: keep the samples with a frame whose function matches focus, then drop those with a frame
// matching ignore. A sample with no frames is the row k_unknown_row (kept unless focus is set).
// Stateless apart from the Symbolizer it is given; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"
#include "symbolize/symbolizer.hpp"

namespace leakhunt::symbolize {

enum class Granularity { function, line, file, module };

// "function", "line", "file", "module" -> the granularity; nullopt for anything else.
std::optional<Granularity> parse_granularity(std::string_view name);

// The four heap values of Go's heap profiles, and the value of the sample type ranked by
// (AggregateOptions::sort_by) when it is none of them, such as a goroutine profile's count.
struct HeapValues {
    int64_t inuse_bytes = 0;
    int64_t inuse_objects = 0;
    int64_t alloc_bytes = 0;
    int64_t alloc_objects = 0;
    int64_t other = 0;  // sort_by's value when sort_by is not a Go heap sample type; else 0

    // The value of a Go heap sample type ("inuse_space", ...); `other` for any other nonempty
    // name (the only other name an Aggregate has values of is its sort_by); 0 for "".
    int64_t get(std::string_view sample_type) const;
    HeapValues& operator+=(const HeapValues& o);
    HeapValues& operator-=(const HeapValues& o);
    bool operator==(const HeapValues&) const = default;
};

struct AggregateRow {
    std::string name;  // the row's key as shown: a function, "function file:line", a file, a module
    std::string function;  // function rows and line rows; the display name (module+0x.. if unknown)
    std::string file;      // empty when unknown (and for module rows)
    int64_t line = 0;      // line rows: the line; function rows: the site line holding the most
    std::string module;    // base name of the mapped file
    std::string callee;    // library callee that allocated for this site, e.g. "std::string"; or ""
    HeapValues flat;       // samples whose allocation site is this row
    HeapValues cum;        // samples with this row anywhere on the stack
};

// The row of samples whose stack is empty (Go writes some): kept, so that rows add up to the
// total as pprof's total does.
inline constexpr std::string_view k_unknown_row = "(unknown)";

struct AggregateOptions {
    Granularity by = Granularity::function;
    std::string sort_by = "inuse_space";  // a sample type of the profile: picks the hottest line
    std::string focus;                    // ECMAScript regex over function names; empty: none
    std::string ignore;                   // the same; empty: none
};

struct Aggregate {
    std::vector<AggregateRow> rows;  // sorted by flat `sort_by` descending, then by name
    HeapValues total;                // of the samples kept
    size_t samples = 0;              // samples kept
    size_t samples_dropped = 0;      // samples removed by focus/ignore
};

// Aggregates `p`. Throws util::Error naming `source_name` when options.sort_by is not a sample
// type of the profile, and util::UsageError when focus or ignore is not a valid regex.
Aggregate aggregate(const profile::Profile& p, Symbolizer& symbolizer,
                    const AggregateOptions& options, std::string_view source_name);

enum class SortKey { flat, cum };

// Sorts rows by `sample_type` of flat or cum values, descending; ties by name.
void sort_rows(std::vector<AggregateRow>& rows, std::string_view sample_type, SortKey key);

// `name` without its parameter list (util::without_parameters) and template arguments:
// "std::vector<int>::push_back(int const&)" -> "std::vector::push_back". "operator<", "operator<<"
// and "operator->" keep their brackets.
std::string strip_templates_and_parameters(std::string_view name);

// The short name of a library function that allocates for its caller: "std::string" for any
// std::__cxx11::basic_string<char...> member, "std::vector" for
// std::vector<...>::_M_realloc_insert, "operator new" for operator new(unsigned long); the name
// without templates and parameters otherwise.
std::string short_callee(std::string_view function);

}  // namespace leakhunt::symbolize
