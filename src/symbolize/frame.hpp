// A symbolized frame: the function, source file and line an address belongs to, plus the module
// and file offset that name it when nothing better is known ("libfoo.so+0x1a2b"). Plain data.
#pragma once

#include <cstdint>
#include <string>

namespace leakhunt::symbolize {

struct Frame {
    std::string function;        // demangled; empty when unknown
    std::string system_name;     // the symbol as the linker knows it (mangled); may be empty
    std::string file;            // source file; empty when unknown
    int64_t line = 0;            // 0 when unknown
    std::string module;          // base name of the mapped file, e.g. "libc.so.6"
    uint64_t module_offset = 0;  // file offset of the address in the module

    // `function` if known, else "module+0x1a2b" (or "0x7f.." when the module is unknown too).
    std::string display_name() const;
};

// Demangles a C++ (Itanium ABI) symbol; returns the input when it is not mangled.
std::string demangle(const std::string& name);

}  // namespace leakhunt::symbolize
