// The JVM heap dump (HPROF 1.0.2: `jcmd PID GC.heap_dump`, `jmap -dump`,
// -XX:+HeapDumpOnOutOfMemoryError, `leakhunt snapshot PID --heap`) read into the heap-graph model.
//
// The file is a header ("JAVA PROFILE 1.0.2\0", the id size, a timestamp) and records (tag, time,
// length). STRING and LOAD_CLASS name the classes and fields; HEAP_DUMP and HEAP_DUMP_SEGMENT hold
// sub-records: the GC roots, CLASS_DUMP (super class, loader, static fields and their values, the
// instance field descriptors), INSTANCE_DUMP, OBJ_ARRAY_DUMP and PRIM_ARRAY_DUMP. The id size of
// the header (4 or 8) drives every id read. The reader streams the file three times, each a
// sequential read (as Eclipse MAT reads HPROF twice: classes first, then instances):
//   1. strings, classes and roots; every object's id (8 bytes per object, sorted afterwards, so a
//      node is the rank of its id and the id-to-node map costs nothing more);
//   2. each object's class, shallow size and number of references (edges);
//   3. the edges themselves, written in place into the CSR arrays.
// Memory per object is the model's (graph.hpp: 29 bytes per node, 9 per edge) plus nothing kept
// per object by the reader; the strings of the dump are held while reading.
//
// The model as MAT shows it: a node per object and per class ("class com.example.Foo", of class
// java.lang.Class); edges named by field (instance fields walked up the superclass chain),
// static fields as edges from the class node, array elements by index; a class keeps its super
// class and its loader alive, and a loader its classes. The GC roots hang under node 0 as edges
// named after their kind ("Java frame", "sticky class", ...) and, for a thread's roots, the
// thread where a START_THREAD record names it. The classes of the application and platform class
// loaders, which the JVM never unloads, are roots too ("system class", as in MAT), so the path
// to what a static field holds starts at the field's class. java.lang.ref.Reference.referent is a
// weak edge, so weak, soft and phantom referents and the finalizer's queue (java.lang.ref.Finalizer
// is a Reference) never retain, as in MAT.
//
// Shallow sizes as the JVM (and `jmap -histo`) counts them: an instance is the object header plus
// its fields at their JVM sizes, rounded up to 8; an array is the array header plus its length
// times the element size, rounded up to 8. The dump does not say whether the JVM compressed its
// pointers: an 8-byte-id dump whose objects span less than 32 GB is taken as compressed oops and
// class pointers (12-byte object header, 16-byte array header, 4-byte references), as HotSpot
// uses for every heap below 32 GB; otherwise 16, 24 and 8. A 4-byte-id dump is a 32-bit JVM.
// Fields HotSpot injects into a few JDK classes (ClassLoader, Module, MemberName, ...) are not in
// the dump but are counted, from HotSpot's own list. Not counted, so smaller than jmap says:
// @Contended padding (java.lang.Thread and its subclasses: 256 bytes each), which the dump does
// not show; java.lang.Class is counted per CLASS_DUMP (the JVM's mirrors of array and primitive
// classes are not dumped), each the size of a Class instance plus its static fields.
//
// Untrusted input: every read is checked against the end of its record and of the file, counts
// are bounded by the bytes that remain, and a truncated or corrupt dump throws util::Error naming
// the file and the byte offset.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

// Reads an .hprof file, streaming.
Graph read_hprof(const std::filesystem::path& path);
// Parses a dump held in memory; errors name `where`.
Graph parse_hprof(std::string_view bytes, const std::string& where);

// True for a file name ending in ".hprof".
bool is_hprof_name(const std::filesystem::path& path);

// A class name as Java writes it: "java/util/HashMap$Node" -> "java.util.HashMap$Node",
// "[Ljava/lang/String;" -> "java.lang.String[]", "[[I" -> "int[][]", a hidden class
// "Foo$$Lambda$1+0x0000000800c01234" -> "Foo$$Lambda$1/0x0000000800c01234" (Class.getName()).
std::string java_class_name(std::string_view jvm_name);

}  // namespace leakhunt::heapgraph
