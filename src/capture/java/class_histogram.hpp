// The JVM's class histogram (`jcmd PID GC.class_histogram`, as HotSpot prints it) read into
// counts per class, and turned into a heap profile: one sample per class whose single location's
// function is the class's Java name, so `suspects`, `top`, `diff` and `report` rank classes as
// they rank allocation sites. The text comes from another process and is untrusted: the parser
// checks every field, bounds what it keeps, and says which line is wrong. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"

namespace leakhunt::capture::java {

struct ClassCount {
    std::string name;    // the Java name: "java.lang.String[]", "byte[]", "com.example.Session"
    std::string module;  // "java.base@17.0.15"; empty for the unnamed module (the class path)
    int64_t instances = 0;
    int64_t bytes = 0;  // shallow size of all instances
};

struct ClassHistogram {
    std::vector<ClassCount> classes;  // in the JVM's order (bytes, descending)
    int64_t total_instances = 0;      // the "Total" line
    int64_t total_bytes = 0;
};

// At most this many classes are kept (a JVM with more is a class loader leak in itself; the
// rest are summed into one "(other classes)" row so the totals stay true).
inline constexpr size_t k_max_classes = 200000;
// A class name longer than this is cut (with "...") before it is kept.
inline constexpr size_t k_max_class_name = 1024;

// Parses the reply of GC.class_histogram: an optional "PID:" line, the header, the dashed line,
// "   N:  instances  bytes  name [(module)]" rows and the "Total  instances  bytes" line. Throws
// util::Error naming the line (1-based) and what is wrong, or saying the reply is not a class
// histogram (quoting its start) when it has no header.
ClassHistogram parse_class_histogram(std::string_view text);

// A class as the histogram names it, in Java's own spelling: the module suffix
// " (java.base@17.0.15)" dropped, array descriptors spelled out ("[B" -> "byte[]",
// "[[Ljava.lang.String;" -> "java.lang.String[][]"). Anything it does not recognise is kept as
// it is.
std::string java_class_name(std::string_view raw);

// The module of a histogram's class name: "java.base@17.0.15" from "[B (java.base@17.0.15)",
// empty when it has none.
std::string java_class_module(std::string_view raw);

// A heap profile of `h` (profile::make_heap_profile's sample types): per class, inuse_objects =
// instances and inuse_space = bytes; the alloc_* values equal them (a histogram knows only what
// is live). Each class's location lies in its module's mapping (profile::java_class_mapping).
// time_nanos: when the histogram was taken.
profile::Profile histogram_profile(const ClassHistogram& h, int64_t time_nanos);

}  // namespace leakhunt::capture::java
