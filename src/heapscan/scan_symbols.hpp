// Names for what a scan file mentions: allocation stacks (code addresses), roots (a global by
// its symbol, a thread's stack by the function whose frame holds the slot, TLS by its variable)
// and allocation sites ("std::vector::reserve in fill_sessions (holders.cpp:60)"). Each
// module's ELF comes from a symbolize::Symbolizer (opened once, its build ID checked there, as
// for profiles); what cannot be named is shown as module+offset and the reason recorded once in
// warnings(). Not thread-safe.
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
class Symbolizer;
}  // namespace leakhunt::symbolize

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
    // With a symbolizer shared with other readers (its open modules are reused).
    ScanSymbols(const ScanFile& scan, symbolize::Symbolizer& symbolizer);
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

    const std::vector<std::string>& warnings() const;

  private:
    const ScanModule* module_of(uint64_t address) const;
    symbolize::ElfModule* elf(const ScanModule& m);
    std::string thread_name(uint64_t index) const;

    const ScanFile& m_scan;
    std::unique_ptr<symbolize::Symbolizer> m_own;  // when none was given
    symbolize::Symbolizer& m_symbolizer;
    std::map<uint64_t, std::vector<symbolize::Frame>> m_frames;
};

// "std::vector<int, std::allocator<int> >::reserve(unsigned long)" -> "std::vector::reserve".
std::string short_function(const std::string& name);

}  // namespace leakhunt::heapscan
