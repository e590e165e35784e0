// Names for what a scan file mentions: allocation stacks (code addresses), roots (a global by
// its symbol, a thread's stack by the function whose frame holds the slot, TLS by its variable)
// and allocation sites ("std::vector::reserve in fill_sessions (holders.cpp:60)"). Opens each
// module's ELF once (symbolize::ElfModule); what cannot be named is shown as module+offset and
// the reason recorded once in warnings(). Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "heapscan/scan_file.hpp"
#include "symbolize/frame.hpp"

namespace leakhunt::symbolize {
class ElfModule;
}

namespace leakhunt::heapscan {

// Where an allocation happened: the first frame of the program's own code (frames of the
// standard library above it are summarized in `via`).
struct SiteName {
    std::string function;  // e.g. "fill_sessions"
    std::string via;       // e.g. "std::vector::reserve"; empty if the call was direct
    std::string file;      // base name of the source file
    int64_t line = 0;
    std::string label() const;  // "std::vector::reserve in fill_sessions (holders.cpp:60)"
};

class ScanSymbols {
  public:
    explicit ScanSymbols(const ScanFile& scan);
    ScanSymbols(const ScanSymbols&) = delete;
    ScanSymbols& operator=(const ScanSymbols&) = delete;
    ~ScanSymbols();

    // Frames at a runtime code address, innermost first; never empty.
    std::vector<symbolize::Frame> frames(uint64_t address);
    // The allocation site of stack `id`.
    SiteName site(uint64_t stack_id);
    // All function names of stack `id`, for --site matching.
    std::vector<std::string> stack_functions(uint64_t stack_id);
    // A root in words: "global g_sessions (heapscan_holders)", "stack of thread 3 (worker,
    // tid 812) in hold_on_stack (holders.cpp:71)", "TLS t_items of thread 2 (tid 811)". Slots of
    // one variable (an array's elements, a struct's members) are one root: no "+0x18" (a slot no
    // symbol covers is named by its address).
    std::string root(const ScanRoot& r);

    const std::vector<std::string>& warnings() const { return m_warnings; }

  private:
    const ScanModule* module_of(uint64_t address) const;
    symbolize::ElfModule* elf(const ScanModule& m);
    std::string thread_name(uint64_t index) const;

    const ScanFile& m_scan;
    std::map<uint64_t, std::unique_ptr<symbolize::ElfModule>> m_elves;  // by module index
    std::map<uint64_t, std::vector<symbolize::Frame>> m_frames;
    std::vector<std::string> m_warnings;
};

// "std::vector<int, std::allocator<int> >::reserve(unsigned long)" -> "std::vector::reserve".
std::string short_function(const std::string& name);

}  // namespace leakhunt::heapscan
