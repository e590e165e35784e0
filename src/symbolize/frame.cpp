// Display names and demangling (abi::__cxa_demangle from libstdc++).
#include "symbolize/frame.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include <fmt/format.h>

namespace leakhunt::symbolize {

std::string Frame::display_name() const {
    if (!function.empty()) return function;
    if (!module.empty()) return fmt::format("{}+0x{:x}", module, module_offset);
    return fmt::format("0x{:x}", module_offset);
}

std::string demangle(const std::string& name) {
    if (name.size() < 2 || name[0] != '_' || name[1] != 'Z') return name;
    int status = 0;
    std::unique_ptr<char, decltype(&std::free)> out(
        abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), &std::free);
    if (status != 0 || !out) return name;
    return out.get();
}

}  // namespace leakhunt::symbolize
