// libFuzzer target for the agent's .eh_frame decoder (src/agent/eh_frame.*). Input: an int64 pc
// offset and a uint32 offset of .eh_frame_hdr, both relative to the image, then the image (the
// bytes of a loaded segment). Whatever the bytes, the decoder must stay inside the image and give
// a rule it can stand behind; any crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "agent/eh_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 12) return 0;
    std::int64_t pc_offset;
    std::uint32_t hdr_offset;
    std::memcpy(&pc_offset, data, 8);
    std::memcpy(&hdr_offset, data + 8, 4);
    const std::size_t n = size - 12;
    if (n == 0) return 0;
    // An exact-size copy, so that AddressSanitizer sees a read past the image.
    std::unique_ptr<std::uint8_t[]> image(new std::uint8_t[n]);
    std::memcpy(image.get(), data + 12, n);
    const auto lo = reinterpret_cast<std::uintptr_t>(image.get());
    const std::uintptr_t pc = lo + static_cast<std::uintptr_t>(pc_offset);
    using leakhunt::agent::CfiRule;
    const CfiRule r =
        leakhunt::agent::decode_cfi_rule(image.get() + hdr_offset % n, lo, lo + n, pc);
    if (r.kind != CfiRule::step && r.kind != CfiRule::last && r.kind != CfiRule::give_up) {
        std::abort();
    }
    if (r.kind == CfiRule::step && r.cfa_off < 8) std::abort();
    return 0;
}
