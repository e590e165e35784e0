// The patterns file (patterns.hpp): reading it with every field checked, writing it atomically,
// and the one matching rule.
#include "patterns/patterns.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::patterns {
namespace {

constexpr int k_version = 1;
// A patterns file is a handful of entries; anything bigger is not one.
constexpr size_t k_max_file_bytes = 16 * 1024 * 1024;

std::string field_text(const nlohmann::json& j, const char* field, const std::string& where,
                       bool required) {
    const auto it = j.find(field);
    if (it == j.end() || it->is_null()) {
        if (required) throw util::Error("{}: field `{}` is missing", where, field);
        return {};
    }
    if (!it->is_string()) throw util::Error("{}: field `{}` is not a string", where, field);
    return it->get<std::string>();
}

// Is `want` (alternatives per element) a subsequence of `tokens`?
bool contains_in_order(const std::vector<std::string>& tokens,
                       const std::vector<std::vector<std::string>>& want) {
    size_t at = 0;
    for (const auto& alternatives : want) {
        bool found = false;
        for (; at < tokens.size() && !found; ++at) {
            for (const auto& a : alternatives) found = found || tokens[at] == a;
        }
        if (!found) return false;
    }
    return true;
}

// Tokens two holder shapes end with in common, and how many must for a learned leak to match.
constexpr size_t k_min_tail = 4;

size_t common_tail(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[a.size() - 1 - n] == b[b.size() - 1 - n]) ++n;
    return n;
}

// Where a holder shape accumulates: its first collection (a Map, an array, a dict, a hash
// table...) with the step that owns it ("system/Context > Map": a Map in a module variable).
// Which objects below it a finding explains (the entries, or their arrays) varies from run to
// run; the owner and the collection do not.
std::optional<std::pair<std::string, std::string>> accumulator(
    const std::vector<std::string>& shape) {
    static const std::set<std::string, std::less<>> k_collections = {
        "Map",  "Set", "WeakMap", "Array", "(array)", "dict",
        "list", "set", "hash",    "tree",  "vector",  "deque"};
    for (size_t i = 1; i < shape.size(); ++i) {
        const std::string& t = shape[i];
        if (k_collections.count(t) || t.starts_with("java.util."))
            return std::make_pair(shape[i - 1], t);
    }
    return std::nullopt;
}

std::optional<std::string> matches(const Pattern& p, const Signature& s) {
    if (p.signature.runtime != s.runtime) return std::nullopt;
    if (p.builtin) {
        if (!p.any_of.empty() && !s.holder.empty() && contains_in_order(s.holder, p.any_of)) {
            return "holder shape " + shape_text(s.holder);
        }
        for (const auto& part : p.site_contains) {
            if (s.site.find(part) != std::string::npos) return "site " + s.site;
        }
        return std::nullopt;
    }
    if (!p.signature.holder.empty() && p.signature.holder == s.holder) {
        return "same holder shape " + shape_text(s.holder);
    }
    // The way from the roots to the owning variable differs between programs (a module's
    // context is reached through whichever closure or handler is nearest); how the objects hang
    // below their owner is the shape of the leak: the two paths end the same way.
    if (!p.signature.holder.empty() && !s.holder.empty()) {
        const size_t tail = common_tail(p.signature.holder, s.holder);
        if (tail >= k_min_tail &&
            2 * tail >= std::min(p.signature.holder.size(), s.holder.size())) {
            const std::vector<std::string> shared(
                s.holder.end() - static_cast<std::ptrdiff_t>(tail), s.holder.end());
            return "same holder shape below its owner: ... > " + shape_text(shared);
        }
        const auto a = accumulator(p.signature.holder);
        if (a && a == accumulator(s.holder)) {
            return fmt::format("the same collection in the same kind of owner: {} > {}", a->first,
                               a->second);
        }
    }
    if (!p.signature.site.empty() && p.signature.site == s.site) return "same site " + s.site;
    return std::nullopt;
}

}  // namespace

std::filesystem::path default_patterns_path() {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg == '/') {
        return std::filesystem::path(xdg) / "leakhunt" / "patterns.json";
    }
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr && *home != '\0' ? home : ".") / ".local" /
           "share" / "leakhunt" / "patterns.json";
}

std::vector<Pattern> load_patterns(const std::filesystem::path& path) {
    std::error_code size_ec;
    if (const auto size = std::filesystem::file_size(path, size_ec);
        !size_ec && size > k_max_file_bytes) {
        throw util::Error("patterns file {} is larger than {} MiB: not a patterns file",
                          path.string(), k_max_file_bytes >> 20);
    }
    int err = 0;
    const auto text = util::try_read_file(path, &err);
    if (!text) {
        if (err == ENOENT) return {};
        throw util::Error("cannot read patterns file {}: {}", path.string(), util::errno_text(err));
    }
    return parse_patterns(*text, path.string());
}

std::vector<Pattern> parse_patterns(std::string_view text, const std::string& file) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw util::Error("patterns file {} is not JSON: {} (fix or remove it)", file, e.what());
    }
    if (!doc.is_object()) throw util::Error("patterns file {}: not a JSON object", file);
    if (const auto v = doc.find("version");
        v == doc.end() || !v->is_number_integer() || *v != k_version) {
        throw util::Error("patterns file {}: field `version` must be {}", file, k_version);
    }
    const auto list = doc.find("patterns");
    if (list == doc.end() || !list->is_array()) {
        throw util::Error("patterns file {}: field `patterns` is missing or not a list", file);
    }
    std::vector<Pattern> out;
    for (size_t i = 0; i < list->size(); ++i) {
        const auto& j = (*list)[i];
        const std::string where = fmt::format("patterns file {}: patterns[{}]", file, i);
        if (!j.is_object()) throw util::Error("{} is not an object", where);
        Pattern p;
        p.id = field_text(j, "id", where, true);
        p.title = field_text(j, "title", where, true);
        p.fix = field_text(j, "fix", where, true);
        p.link = field_text(j, "link", where, false);
        p.learned_from = field_text(j, "learned_from", where, false);
        const auto sig = j.find("signature");
        if (sig == j.end()) throw util::Error("{}: field `signature` is missing", where);
        p.signature = signature_from_json(*sig, where + ".signature");
        if (p.signature.site.empty() && p.signature.holder.empty()) {
            throw util::Error(
                "{}.signature: neither `site` nor `holder` is set: it would match "
                "nothing",
                where);
        }
        out.push_back(std::move(p));
    }
    return out;
}

void save_patterns(const std::filesystem::path& path, const std::vector<Pattern>& patterns) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : patterns) {
        nlohmann::json j{
            {"id", p.id}, {"title", p.title}, {"fix", p.fix}, {"signature", to_json(p.signature)}};
        if (!p.link.empty()) j["link"] = p.link;
        if (!p.learned_from.empty()) j["learned_from"] = p.learned_from;
        list.push_back(std::move(j));
    }
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw util::Error("cannot create {}: {}", path.parent_path().string(), ec.message());
    util::write_file_atomic(
        path, nlohmann::json{{"version", k_version}, {"patterns", list}}.dump(2) + "\n");
}

std::string next_id(const std::vector<Pattern>& patterns) {
    long highest = 0;
    for (const auto& p : patterns) {
        if (p.id.starts_with("LEAK-"))
            highest = std::max(highest, std::strtol(p.id.c_str() + 5, nullptr, 10));
    }
    return fmt::format("LEAK-{}", highest + 1);
}

std::optional<Match> match(const Signature& s, const std::vector<Pattern>& learned) {
    for (const auto& p : learned) {
        if (auto how = matches(p, s)) return Match{&p, *how};
    }
    for (const auto& p : builtin_patterns()) {
        if (auto how = matches(p, s)) return Match{&p, *how};
    }
    return std::nullopt;
}

std::string describe(const Match& m) {
    std::string text = fmt::format("looks like {} `{}`", m.pattern->id, m.pattern->title);
    if (!m.pattern->fix.empty()) {
        text += fmt::format(", {} {}", m.pattern->builtin ? "fix:" : "fixed by", m.pattern->fix);
    }
    if (!m.pattern->link.empty()) text += fmt::format(" ({})", m.pattern->link);
    return text;
}

nlohmann::json to_json(const Match& m) {
    return {{"id", m.pattern->id},   {"title", m.pattern->title},
            {"fix", m.pattern->fix}, {"link", m.pattern->link},
            {"how", m.how},          {"text", describe(m)}};
}

std::vector<Pattern> load_for_matching(const std::optional<std::filesystem::path>& path) {
    return load_patterns(path ? *path : default_patterns_path());
}

}  // namespace leakhunt::patterns
