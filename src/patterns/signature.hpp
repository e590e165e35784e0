// The signature of a leak finding, the unit the pattern library matches on: the runtime, the top
// suspect's site (or class) and the shape of the path that holds it, normalised so that a
// different program that leaks the same way has the same signature (its variable, field and class
// names are left out; the runtime's own containers, the root's kind and the index steps are kept)
// and a program that leaks another way does not. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace leakhunt::patterns {

// A finding as the analysis saw it, in the runtime's own words.
struct Finding {
    std::string runtime;                    // native, go, node, java, python
    std::string site;                       // top suspect: a function, a Java class, file:line
    std::vector<std::string> holder_steps;  // the path that holds it, root first, as `paths` prints
};

struct Signature {
    std::string runtime;
    std::string site;                 // normalised: no argument list, no template arguments
    std::vector<std::string> holder;  // normalised shape tokens, root first; empty: unknown
    bool operator==(const Signature&) const = default;
};

// "ns::Cache<int>::put(int const&) [clone .isra.0]" -> "ns::Cache::put"; "cacheSession" stays.
std::string normalise_site(std::string_view site);

// The shape tokens of a holder path (see the file comment). Node (V8) steps are
// "(GC roots)", "context `sessions` (Map)", "element [] (Session)"; native steps are the root
// ("global `g_cache` in demo") and then the allocation sites of the blocks on the way.
std::vector<std::string> holder_shape(std::string_view runtime,
                                      const std::vector<std::string>& steps);

Signature signature_of(const Finding& finding);

nlohmann::json to_json(const Signature& s);
// Throws util::Error naming `where` and the field when `j` is not a signature.
Signature signature_from_json(const nlohmann::json& j, const std::string& where);

// "global > map > []" for messages.
std::string shape_text(const std::vector<std::string>& holder);

}  // namespace leakhunt::patterns
