// The heap profile model: what a pprof profile says, with the string table resolved and the ids
// checked, owned by plain structs and free of protobuf. Profiles read by pprof.hpp have dense ids
// (locations[i].id == i + 1, and the same for mappings and functions), so lookups are an index;
// profiles built by hand may use any unique nonzero ids and are found by a search instead.
// Plain data: not thread-safe for concurrent mutation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leakhunt::profile {

// What a sample value measures, e.g. {"inuse_space", "bytes"}.
struct ValueType {
    std::string type;
    std::string unit;
    bool operator==(const ValueType&) const = default;
};

struct Label {
    std::string key;
    std::string str;       // set for string labels
    int64_t num = 0;       // set for numeric labels
    std::string num_unit;  // unit of num, if any
    bool operator==(const Label&) const = default;
};

struct Sample {
    std::vector<uint64_t> location_ids;  // the leaf first
    std::vector<int64_t> values;         // one per Profile::sample_types
    std::vector<Label> labels;
    bool operator==(const Sample&) const = default;
};

// A file (or [vdso], [anon]) mapped into the process. Addresses in its range belong to it;
// the file offset of an address is address - memory_start + file_offset.
struct Mapping {
    uint64_t id = 0;
    uint64_t memory_start = 0;
    uint64_t memory_limit = 0;
    uint64_t file_offset = 0;
    std::string filename;  // absolute path of the ELF file, or a pseudo name like "[vdso]"
    std::string build_id;  // hex, as in NT_GNU_BUILD_ID; empty if unknown
    bool has_functions = false;
    bool has_filenames = false;
    bool has_line_numbers = false;
    bool has_inline_frames = false;
    bool operator==(const Mapping&) const = default;
};

// One source line of a location; a location with inlined calls has several, callee first.
struct Line {
    uint64_t function_id = 0;
    int64_t line = 0;
    int64_t column = 0;
    bool operator==(const Line&) const = default;
};

struct Location {
    uint64_t id = 0;
    uint64_t mapping_id = 0;  // 0: no mapping
    uint64_t address = 0;     // runtime address in the profiled process
    std::vector<Line> lines;  // empty while unsymbolized
    bool is_folded = false;
    bool operator==(const Location&) const = default;
};

struct Function {
    uint64_t id = 0;
    std::string name;         // human-readable (demangled)
    std::string system_name;  // as the system knows it (mangled)
    std::string filename;
    int64_t start_line = 0;
    bool operator==(const Function&) const = default;
};

struct Profile {
    std::vector<ValueType> sample_types;
    std::vector<Sample> samples;
    std::vector<Mapping> mappings;
    std::vector<Location> locations;
    std::vector<Function> functions;
    ValueType period_type;
    int64_t period = 0;
    int64_t time_nanos = 0;
    int64_t duration_nanos = 0;
    std::string default_sample_type;
    std::string drop_frames;
    std::string keep_frames;
    std::vector<std::string> comments;
    bool operator==(const Profile&) const = default;
};

// Lookups by id; nullptr when there is none. O(1) for dense ids, a linear search otherwise.
const Mapping* find_mapping(const Profile& p, uint64_t id);
const Location* find_location(const Profile& p, uint64_t id);
const Function* find_function(const Profile& p, uint64_t id);
Mapping* find_mapping(Profile& p, uint64_t id);
Location* find_location(Profile& p, uint64_t id);
Function* find_function(Profile& p, uint64_t id);

// The index of the sample type named `type` (e.g. "inuse_space"), or nullopt.
std::optional<size_t> sample_type_index(const Profile& p, std::string_view type);

// A heap profile's in-use totals: the sums of its inuse_space and inuse_objects values (for a
// sampled profile, the estimate pprof scales them to); nullopt when it lacks either sample type.
struct InUse {
    int64_t bytes = 0;
    int64_t objects = 0;
};
std::optional<InUse> in_use_totals(const Profile& p);

// The names of `p`'s sample types, comma-separated ("goroutine", "alloc_objects, ..."), for
// messages that say which ones a profile has.
std::string sample_type_names(const Profile& p);

// The sample type to show when none is asked for: "inuse_space" when `p` has it (a heap
// profile), else its default_sample_type when that is one of its types, else its last one
// (pprof's choice: "goroutine" for a goroutine profile). "" when it has none.
std::string preferred_sample_type(const Profile& p);

// A JVM class histogram as a heap profile (capture/java) puts each class's one location in a
// mapping named after the class's module: "[jvm class] java.base@17.0.15", or "[jvm class]" for
// the unnamed module (the class path). Readers tell a class from an allocation site by it.
std::string java_class_mapping(std::string_view module);
// True for such a mapping's file name (or its base name: it has no '/').
bool is_java_class_mapping(std::string_view filename);
// The module of such a mapping ("java.base@17.0.15"), "" for the unnamed module.
std::string_view java_class_mapping_module(std::string_view filename);

// The sample types of a heap profile in Go's order: alloc_objects/count, alloc_space/bytes,
// inuse_objects/count, inuse_space/bytes; period type space/bytes.
Profile make_heap_profile();

}  // namespace leakhunt::profile
