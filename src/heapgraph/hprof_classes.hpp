// The classes of an HPROF heap dump and the JVM's sizes of their objects, as HotSpot (and
// `jmap -histo`) counts them: the object layout a dump implies (compressed oops or not, see
// hprof_reader.hpp), each class's fields up its super class chain, the size of its instances and
// of its class object. Used by the reader between its first and second passes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "heapgraph/graph.hpp"
#include "heapgraph/hprof_format.hpp"

namespace leakhunt::heapgraph {

// A field of a class (name and basic type), instance or static.
struct HprofField {
    uint64_t name_id = 0;
    uint8_t type = 0;
    StringIndex name = 0;  // resolved after the first pass
};

// A class of the dump: what its CLASS_DUMP says, then, once laid out, its fields up the super
// class chain and the JVM's sizes.
struct HprofClass {
    uint64_t id = 0, super_id = 0, loader_id = 0;
    std::vector<HprofField> fields;   // declared instance fields, as written
    std::vector<HprofField> statics;  // names and types (values are read again in later passes)
    // Resolved after the first pass.
    std::vector<HprofField>
        all_fields;                // this class's, then its super class's, ... (the dump's order)
    uint64_t data_bytes = 0;       // instance data in the dump
    uint64_t shallow = 0;          // the JVM's size of an instance
    uint64_t mirror = 0;           // the JVM's size of the class object (java.lang.Class + statics)
    size_t weak_field = SIZE_MAX;  // index in all_fields of Reference.referent
    StringIndex name = 0, node_name = 0;
};

// The JVM's object layout: header sizes and the size of a reference.
struct JvmLayout {
    unsigned id_size = 8;
    uint64_t header = 12, array_header = 16, ref = 4;

    // The layout of a dump from its id size and the span of its object ids: compressed oops and
    // class pointers below a 32 GB span (an 8-byte-id dump); a 4-byte-id dump is a 32-bit JVM.
    static JvmLayout of_dump(unsigned id_size, uint64_t id_span);
    // A field's size in an object (references at the JVM's size, not the dump's).
    uint64_t field_size(uint8_t type) const {
        return is_ref(type) ? ref : value_size(type, id_size);
    }
    // Where an array's elements start.
    uint64_t array_base(unsigned elem) const {
        // 32-bit JVMs align 8-byte elements to 8 after a 12-byte header.
        return id_size == 4 && elem == 8 ? 16 : array_header;
    }
};

// True for the class of a loader whose classes the JVM never unloads (the application and
// platform class loaders: JDK 9+, and JDK 8's).
bool is_system_loader(std::string_view class_name);

// Lays out every class once names are resolved: all_fields (the dump's order), data_bytes,
// weak_field (java.lang.ref.Reference.referent), shallow and mirror. `by_id` maps a class id to
// its index. Throws util::Error naming `where` when a class is its own super class.
void lay_out_classes(std::vector<HprofClass>& classes,
                     const std::unordered_map<uint64_t, size_t>& by_id, const StringTable& strings,
                     const JvmLayout& layout, const std::string& where);

}  // namespace leakhunt::heapgraph
