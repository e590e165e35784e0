// What `top`, `diff`, `suspects`, `paths` and `leaks` share: a record directory given for a file,
// reading a profile and symbolizing it (warnings to stderr), the
// --by/--sample-index/--focus/--ignore options, and how values are shown.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "profile/profile.hpp"
#include "recorddir/record_dir.hpp"
#include "symbolize/aggregate.hpp"
#include "symbolize/symbolizer.hpp"

namespace leakhunt::cli {

// A record directory given where a verb reads files: the files of `kind` of the process the
// readers show (recorddir::main_id), in sequence order. Throws util::Error naming the directory
// and what to run when it holds none.
struct DirInput {
    long pid = 0;
    recorddir::Listing listing;
    std::vector<std::filesystem::path> files;
};
DirInput record_dir_input(const std::filesystem::path& dir, recorddir::Kind kind);

// Says on stderr which file of a record directory a verb reads ("leakhunt: DIR: WHAT").
void say_chosen(const std::filesystem::path& dir, const std::string& what);

// read_profile(path), then symbolize_profile with `symbolizer`; each warning once on stderr.
profile::Profile read_symbolized(const std::string& path, symbolize::Symbolizer& symbolizer);

// Options shared by top and diff, bound to `options` (and `by`, the text of --by). Returns the
// --sample-index option (its count() says whether it was given).
CLI::Option* add_aggregate_options(CLI::App& cmd, symbolize::AggregateOptions& options,
                                   std::string& by);
// Applies the text of --by; throws util::UsageError for an unknown one.
void apply_granularity(symbolize::AggregateOptions& options, const std::string& by);

// Bytes for *_space ("1.50 MiB"), a count for *_objects.
std::string format_value(const std::string& sample_index, int64_t v);
// Objects beside bytes and bytes beside objects: inuse_space -> inuse_objects, ...; "" for a
// sample type that is not a Go heap one (it has no companion).
std::string companion_type(const std::string& sample_index);
// "file:line", "file" or the module when the file is unknown.
std::string where(const symbolize::AggregateRow& row);
// "functions", "lines", "files", "modules".
std::string granularity_plural(symbolize::Granularity by);

}  // namespace leakhunt::cli
