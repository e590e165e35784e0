// The pattern library: leaks the team documented (`leakhunt learn`) and the built-in ones of each
// runtime, each with its fix, matched against a finding's signature (signature.hpp) so that
// `suspects`, `paths`, `report` and `hunt` can say "looks like LEAK-12 `session cache without
// eviction`: <the fix>". A patterns file is JSON ({"version": 1, "patterns": [...]}), one per
// user by default (default_patterns_path), or shared in a repository. Matching lives here and
// nowhere else. Not thread-safe (a Library is a value; the functions are pure).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patterns/signature.hpp"

namespace leakhunt::patterns {

struct Pattern {
    std::string id;     // "LEAK-12" for a learned one, "node-listener" for a built-in
    std::string title;  // "session cache without eviction"
    std::string fix;    // what fixed it
    std::string link;   // an issue or commit URL; may be empty
    Signature signature;
    // Learned: the holder shape must be equal (or, without one, the site). Built-in: each
    // element of `any_of` must appear in the holder shape in this order, one of its alternatives
    // each (a subsequence), or the site holds one of `site_contains`.
    bool builtin = false;
    std::vector<std::vector<std::string>> any_of;
    std::vector<std::string> site_contains;
    std::string learned_from;  // the directory it was learned from (learned patterns)
};

struct Match {
    const Pattern* pattern = nullptr;
    std::string how;  // "same holder shape", "same site", "holder shape contains ..."
};

// The patterns a runtime brings (unbounded map in a global, a listener never removed, ...).
const std::vector<Pattern>& builtin_patterns();

// $XDG_DATA_HOME/leakhunt/patterns.json, else ~/.local/share/leakhunt/patterns.json.
std::filesystem::path default_patterns_path();

// The learned patterns of `path`; empty when the file does not exist. Throws util::Error naming
// the file and the field when it is not a patterns file.
std::vector<Pattern> load_patterns(const std::filesystem::path& path);
// The same from the file's text; `file` names it in errors.
std::vector<Pattern> parse_patterns(std::string_view text, const std::string& file);
// Writes them atomically (directories created).
void save_patterns(const std::filesystem::path& path, const std::vector<Pattern>& patterns);

// "LEAK-N" with N one more than the highest number among `patterns`.
std::string next_id(const std::vector<Pattern>& patterns);

// The first pattern that matches: learned ones first (in file order), then the built-ins.
std::optional<Match> match(const Signature& s, const std::vector<Pattern>& learned);

// "looks like LEAK-12 `session cache without eviction`, fixed by bounding it (URL)"
std::string describe(const Match& m);

// {"id", "title", "fix", "link", "how", "text"} for JSON output.
nlohmann::json to_json(const Match& m);

// The learned patterns of the patterns file a command uses: `path` when given, else the
// default file. Errors as load_patterns.
std::vector<Pattern> load_for_matching(const std::optional<std::filesystem::path>& path);

}  // namespace leakhunt::patterns
