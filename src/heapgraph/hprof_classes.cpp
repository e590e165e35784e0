// Class layouts and names of an HPROF dump; see hprof_classes.hpp.
#include "heapgraph/hprof_classes.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "heapgraph/hprof_reader.hpp"
#include "util/error.hpp"

namespace leakhunt::heapgraph {
namespace {

// Fields HotSpot adds to some JDK classes that the dump does not list (javaClasses.hpp,
// ALL_INJECTED_FIELDS in JDK 17): native words (intptr_t) and references. They count in the
// JVM's instance size, so in `jmap -histo`'s.
struct Injected {
    std::string_view cls;
    unsigned words;
    unsigned refs;
};
constexpr Injected k_injected[] = {
    {"java.lang.ClassLoader", 1, 0},                                 // loader_data
    {"java.lang.Module", 1, 0},                                      // module_entry
    {"java.lang.invoke.MemberName", 1, 0},                           // vmindex
    {"java.lang.invoke.ResolvedMethodName", 1, 1},                   // vmtarget, vmholder
    {"java.lang.invoke.MethodHandleNatives$CallSiteContext", 2, 0},  // vmdependencies, last_cleanup
};

// A class's own instance data at the JVM's sizes, unaligned, for java.lang.Class's mirror.
uint64_t own_field_bytes(const HprofClass& c, const JvmLayout& layout) {
    uint64_t b = 0;
    for (const HprofField& f : c.fields) b += layout.field_size(f.type);
    return b;
}

}  // namespace

bool is_system_loader(std::string_view class_name) {
    static constexpr std::string_view k_system_loaders[] = {
        "jdk.internal.loader.ClassLoaders$AppClassLoader",
        "jdk.internal.loader.ClassLoaders$PlatformClassLoader", "sun.misc.Launcher$AppClassLoader",
        "sun.misc.Launcher$ExtClassLoader"};
    return std::find(std::begin(k_system_loaders), std::end(k_system_loaders), class_name) !=
           std::end(k_system_loaders);
}

JvmLayout JvmLayout::of_dump(unsigned id_size, uint64_t id_span) {
    const bool compressed = id_size == 4 || id_span < (uint64_t{32} << 30);
    JvmLayout l;
    l.id_size = id_size;
    l.header = id_size == 4 ? 8 : compressed ? 12 : 16;
    l.array_header = id_size == 4 ? 12 : compressed ? 16 : 24;
    l.ref = id_size == 4 ? 4 : compressed ? 4 : 8;
    return l;
}

void lay_out_classes(std::vector<HprofClass>& classes,
                     const std::unordered_map<uint64_t, size_t>& by_id, const StringTable& strings,
                     const JvmLayout& layout, const std::string& where) {
    const uint64_t class_instance = [&] {
        for (const HprofClass& c : classes) {
            if (strings.get(c.name) == "java.lang.Class") return own_field_bytes(c, layout);
        }
        return uint64_t{0};
    }();
    for (HprofClass& c : classes) {
        // This class's fields, then its super class's, up the chain.
        size_t steps = 0;
        uint64_t injected = 0;
        for (const HprofClass* k = &c; k != nullptr;) {
            const bool reference = strings.get(k->name) == "java.lang.ref.Reference";
            for (const Injected& in : k_injected) {
                if (strings.get(k->name) == in.cls)
                    injected += in.words * uint64_t{layout.id_size} + in.refs * layout.ref;
            }
            for (const HprofField& f : k->fields) {
                if (reference && strings.get(f.name) == "referent")
                    c.weak_field = c.all_fields.size();
                c.all_fields.push_back(f);
                c.data_bytes += value_size(f.type, layout.id_size);
            }
            const auto sup = by_id.find(k->super_id);
            k = k->super_id == 0 || sup == by_id.end() ? nullptr : &classes[sup->second];
            if (++steps > classes.size()) {
                throw util::Error(
                    "{}: class {} is its own super class (not a valid HPROF heap dump)", where,
                    strings.get(c.name));
            }
        }
        uint64_t field_bytes = injected;
        for (const HprofField& f : c.all_fields) field_bytes += layout.field_size(f.type);
        c.shallow = align8(layout.header + field_bytes);
        uint64_t static_bytes = 0;
        for (const HprofField& f : c.statics) static_bytes += layout.field_size(f.type);
        c.mirror = align8(layout.header + class_instance + static_bytes);
    }
}

std::string java_class_name(std::string_view jvm) {
    size_t dims = 0;
    while (dims < jvm.size() && jvm[dims] == '[') ++dims;
    std::string_view base = jvm.substr(dims);
    std::string out;
    if (dims > 0 && base.size() >= 2 && base.front() == 'L' && base.back() == ';') {
        base = base.substr(1, base.size() - 2);
    } else if (dims > 0 && base.size() == 1) {
        switch (base[0]) {
            case 'Z':
                out = "boolean";
                break;
            case 'C':
                out = "char";
                break;
            case 'F':
                out = "float";
                break;
            case 'D':
                out = "double";
                break;
            case 'B':
                out = "byte";
                break;
            case 'S':
                out = "short";
                break;
            case 'I':
                out = "int";
                break;
            case 'J':
                out = "long";
                break;
            default:
                break;
        }
    }
    if (out.empty()) {
        out.assign(base);
        std::replace(out.begin(), out.end(), '/', '.');
        // A hidden class ("Foo$$Lambda$14+0x0000000800c01234") is named with a '/' by Java.
        if (const size_t plus = out.rfind("+0x"); plus != std::string::npos) out[plus] = '/';
    }
    for (size_t i = 0; i < dims; ++i) out += "[]";
    return out;
}

}  // namespace leakhunt::heapgraph
