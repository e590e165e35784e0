// HotSpot prints the histogram (src/hotspot/share/memory/heapInspection.cpp, KlassInfoHisto::
// print_histo_on) as:
//
//   4242:                                              <- jcmd's "PID:" line
//    num     #instances         #bytes  class name (module)
//   -------------------------------------------------------
//      1:          8375         361584  [B (java.base@17.0.15)
//      2:          2103          67296  com.example.Session
//   Total         10478         428880
//
// Class names are the JVM's external names: arrays as field descriptors, a module suffix for
// classes in a named module, hidden classes with "/0x..." appended.
#include "capture/java/class_histogram.hpp"

#include <limits>
#include <unordered_map>
#include <utility>

#include "proc/text_scan.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"

namespace leakhunt::capture::java {
namespace {

using proc::detail::next_line;
using proc::detail::next_token;
using proc::detail::parse_u64;
using proc::detail::trim;

std::string_view primitive_name(char code) {
    switch (code) {
        case 'B':
            return "byte";
        case 'C':
            return "char";
        case 'D':
            return "double";
        case 'F':
            return "float";
        case 'I':
            return "int";
        case 'J':
            return "long";
        case 'S':
            return "short";
        case 'Z':
            return "boolean";
        default:
            return {};
    }
}

// A count or size field: a decimal number that fits in int64.
std::optional<int64_t> count_field(std::string_view token) {
    const auto v = parse_u64(token);
    if (!v || *v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(*v);
}

int64_t saturating_add(int64_t a, int64_t b) {
    return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max()
                                                       : a + b;
}

[[noreturn]] void bad_line(size_t number, std::string_view what, std::string_view line) {
    throw util::Error("class histogram line {}: {} in '{}'", number, what,
                      util::terminal_safe(line.substr(0, 80)));
}

// The name and the module of a histogram's "name (module@version)": the module is what lies
// between the last " (" and a closing ')' at the end.
std::pair<std::string_view, std::string_view> split_module(std::string_view raw) {
    std::string_view name = trim(raw);
    if (name.ends_with(')')) {
        const size_t open = name.rfind(" (");
        if (open != std::string_view::npos && open > 0) {
            return {trim(name.substr(0, open)), name.substr(open + 2, name.size() - open - 3)};
        }
    }
    return {name, {}};
}

}  // namespace

std::string java_class_module(std::string_view raw) {
    return std::string(split_module(raw).second);
}

std::string java_class_name(std::string_view raw) {
    const std::string_view name = split_module(raw).first;
    size_t dims = 0;
    while (dims < name.size() && name[dims] == '[') ++dims;
    if (dims == 0) return std::string(name);
    const std::string_view element = name.substr(dims);
    std::string base;
    if (element.size() == 1 && !primitive_name(element[0]).empty()) {
        base = primitive_name(element[0]);
    } else if (element.size() > 2 && element.front() == 'L' && element.back() == ';') {
        base = element.substr(1, element.size() - 2);
    } else {
        return std::string(name);  // not a descriptor we know: as printed
    }
    for (size_t i = 0; i < dims; ++i) base += "[]";
    return base;
}

ClassHistogram parse_class_histogram(std::string_view text) {
    ClassHistogram h;
    std::string_view rest = text, line;
    size_t number = 0;
    bool header = false, total = false;
    ClassCount other{"(other classes)", {}, 0, 0};
    while (next_line(rest, line)) {
        ++number;
        const std::string_view t = trim(line);
        if (t.empty()) continue;
        if (!header) {
            if (t.find("#instances") != std::string_view::npos &&
                t.find("#bytes") != std::string_view::npos) {
                header = true;
            }
            continue;  // "PID:", anything the JVM printed before the header
        }
        if (t.find_first_not_of('-') == std::string_view::npos) continue;
        if (total) bad_line(number, "a row after the Total line", t);
        std::string_view cursor = t;
        const std::string_view first = next_token(cursor);
        if (first == "Total") {
            const auto instances = count_field(next_token(cursor));
            const auto bytes = count_field(next_token(cursor));
            if (!instances || !bytes || !trim(cursor).empty()) {
                bad_line(number, "a Total line without two counts", t);
            }
            h.total_instances = *instances;
            h.total_bytes = *bytes;
            total = true;
            continue;
        }
        if (!first.ends_with(':') || !count_field(first.substr(0, first.size() - 1))) {
            bad_line(number, "no row number 'N:'", t);
        }
        const auto instances = count_field(next_token(cursor));
        const auto bytes = count_field(next_token(cursor));
        if (!instances || !bytes)
            bad_line(number, "the instance count or byte size is not a number", t);
        const std::string_view raw = trim(cursor);
        if (raw.empty()) bad_line(number, "no class name", t);
        if (h.classes.size() >= k_max_classes) {
            other.instances = saturating_add(other.instances, *instances);
            other.bytes = saturating_add(other.bytes, *bytes);
            continue;
        }
        std::string name = java_class_name(raw);
        if (name.size() > k_max_class_name) name = name.substr(0, k_max_class_name) + "...";
        std::string module = java_class_module(raw);
        if (module.size() > k_max_class_name) module.resize(k_max_class_name);
        h.classes.push_back({std::move(name), std::move(module), *instances, *bytes});
    }
    if (!header) {
        throw util::Error("not a class histogram (no '#instances #bytes' header): '{}'",
                          util::terminal_safe(trim(text).substr(0, 120)));
    }
    if (!total) {
        throw util::Error("class histogram cut short: no Total line after line {}", number);
    }
    if (other.instances > 0 || other.bytes > 0) h.classes.push_back(std::move(other));
    return h;
}

profile::Profile histogram_profile(const ClassHistogram& h, int64_t time_nanos) {
    profile::Profile p = profile::make_heap_profile();
    p.time_nanos = time_nanos;
    p.period = 1;
    p.comments.push_back(
        "JVM class histogram (GC.class_histogram): live instances and shallow "
        "bytes per class");
    p.samples.reserve(h.classes.size());
    p.locations.reserve(h.classes.size());
    p.functions.reserve(h.classes.size());
    // A class may be listed twice (the same name from two class loaders): one function each way,
    // one sample per row, so totals stay those of the JVM.
    std::unordered_map<std::string, uint64_t> ids;
    std::unordered_map<std::string_view, uint64_t> mappings;
    for (const ClassCount& c : h.classes) {
        auto [m, new_module] = mappings.try_emplace(c.module, p.mappings.size() + 1);
        if (new_module) {
            profile::Mapping mapping;
            mapping.id = m->second;
            mapping.filename = profile::java_class_mapping(c.module);
            mapping.has_functions = true;
            p.mappings.push_back(std::move(mapping));
        }
        auto [it, fresh] = ids.try_emplace(c.name + '\0' + c.module, p.functions.size() + 1);
        if (fresh) {
            profile::Function f;
            f.id = it->second;
            f.name = c.name;
            f.system_name = c.name;
            p.functions.push_back(std::move(f));
            profile::Location loc;
            loc.id = it->second;
            loc.mapping_id = m->second;
            loc.lines.push_back({it->second, 0, 0});
            p.locations.push_back(std::move(loc));
        }
        profile::Sample s;
        s.location_ids = {it->second};
        s.values = {c.instances, c.bytes, c.instances, c.bytes};
        p.samples.push_back(std::move(s));
    }
    return p;
}

}  // namespace leakhunt::capture::java
