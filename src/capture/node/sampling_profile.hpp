// V8's sampling heap profile (the result of HeapProfiler.getSamplingProfile) as a pprof heap
// profile, so that every verb that reads the agent's snapshots reads a Node program's too. Each
// node of V8's call tree is a JavaScript function (its name, "(anonymous)" when it has none; its
// script as the file: a file:// URL becomes its path; its start line, 1-based). Space is as V8
// scales it (SamplingHeapProfiler::ScaleSample: a sampled object of `size` bytes stands for
// round(1 / (1 - exp(-size / interval))) objects, and the inspector sends their bytes), so
// inuse_space estimates the whole live heap, as the contract wants. inuse_objects counts the
// sampled objects unscaled: the inspector sends only the scaled bytes, from which the count
// cannot be told back. The profile holds the
// live objects only (sampling started with includeObjectsCollectedBy{Major,Minor}GC false); V8
// forgets collected ones, so alloc_* repeat inuse_* (a comment in the profile says so). Stateless.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "profile/profile.hpp"

namespace leakhunt::capture::node {

// The file a CDP script URL names: "file:///srv/app/server.js" -> "/srv/app/server.js"
// (percent escapes decoded), "node:internal/..." and other URLs unchanged.
std::string script_file(std::string_view url);

// `result` is {"profile": {"head": node, "samples": [...]}} with each node
// {"callFrame": {"functionName", "url", "lineNumber" (0-based), ...}, "selfSize", "id",
// "children"}. `interval_bytes` is the sampling interval it was started with. Throws util::Error
// (naming the field) when the shape is not that; the call tree is walked without recursion.
profile::Profile sampling_profile_to_pprof(const nlohmann::json& result,
                                           std::int64_t interval_bytes, std::int64_t time_nanos);

}  // namespace leakhunt::capture::node
