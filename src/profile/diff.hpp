// The difference of two profiles of the same kind, as pprof builds it for -diff_base: the current
// profile's samples as they are plus the base profile's samples with negated values and the label
// pprof::base="true", over one merged set of mappings, functions and locations. pprof tools open
// it as an ordinary profile whose values are the growth. Stateless; thread-safe.
#pragma once

#include <string_view>

#include "profile/profile.hpp"

namespace leakhunt::profile {

// Throws util::Error naming both files when `base` and `cur` do not have the same sample types
// (type and unit, in the same order), which a per-value difference needs.
void check_same_sample_types(const Profile& base, const Profile& cur, std::string_view base_name,
                             std::string_view cur_name);

// cur - base as one profile (see the file comment). Mappings are merged by file, build ID, range
// and offset; functions by name, system name, file and start line; locations by merged mapping,
// address and lines. The result's ids are dense. Calls check_same_sample_types first.
Profile diff_profile(const Profile& base, const Profile& cur, std::string_view base_name,
                     std::string_view cur_name);

}  // namespace leakhunt::profile
