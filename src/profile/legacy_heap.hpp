// Readers for the text heap profiles that came before pprof's protobuf and are still written by
// allocators: gperftools (`heap profile: ... @ heapprofile` from HEAPPROFILE, `@ heap_v2/RATE`
// from MallocExtension::GetHeapSample), Go's legacy `@ heap/RATE` text (debug=1), and jemalloc's
// `heap_v2/RATE` dumps (prof:true), which pprof itself cannot read. Each becomes a Profile with
// Go's four heap sample types, values un-sampled as pprof does, and the MAPPED_LIBRARIES section
// (a /proc/PID/maps dump) turned into Mappings so that our Symbolizer can name the addresses.
// Input is untrusted: every number is checked, a bad line is one util::Error naming the source
// and line. Stateless; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "profile/profile.hpp"

namespace leakhunt::profile {

// True when `bytes` starts with a header this reader knows ("heap profile:" or "heap_v2/"),
// after optional leading blank space.
bool is_legacy_heap(std::string_view bytes);

// Parses a gperftools, Go legacy or jemalloc text heap profile. Addresses in stacks are return
// addresses; like pprof, each location's address is the return address - 1 so that it lands on
// the call. Leaf frames inside a libjemalloc/libtcmalloc mapping (the allocator's own frames,
// which jemalloc records) are dropped so that the first frame is the caller of malloc.
Profile parse_legacy_heap(std::string_view text, std::string_view source_name);

// Parses a memory map section into mappings of the executable file-backed entries, ids 1..N in
// order: /proc/PID/maps lines, pprof's short lines `START-END[:] [PERMS] PATH [(@OFFSET)]
// [BUILD_ID]`, and `NAME=VALUE` lines that define `$NAME` for later paths (as gperftools writes
// `source=/home` then `00400000-00fcb000: $source/app`). `first_line` numbers the first line in
// errors.
std::vector<Mapping> parse_proc_maps(std::string_view text, std::string_view source_name,
                                     size_t first_line = 1);

}  // namespace leakhunt::profile
