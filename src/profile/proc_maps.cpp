// The memory map section of a text heap profile (legacy_heap.hpp's parse_proc_maps).
#include <algorithm>
#include <string>
#include <vector>

#include "profile/legacy_heap.hpp"
#include "profile/text_cursor.hpp"

namespace leakhunt::profile {
namespace {

using namespace text_cursor;

// The memory map section, in the forms pprof's legacy reader accepts (its parseMappingEntry):
//   /proc/PID/maps:  START-END PERMS OFFSET DEV INODE [PATH]
//   short:           START-END[:] [PERMS] [PATH] [(@OFFSET)] [BUILD_ID]
//                    (gperftools' "--- Memory map: ---" section: `00400000-00fcb000: /bin/app`)
//   attribute:       NAME=VALUE, after which `$NAME` in a path stands for VALUE
//                    (`source=/home`, then `00400000-00fcb000: $source/app`)
enum class MapsForm { mapping, attribute, bad };

struct MapsLine {
    uint64_t start = 0;
    uint64_t end = 0;
    uint64_t offset = 0;
    bool executable = true;  // no PERMS: a short line, which lists code
    std::string_view path;
    std::string_view build_id;
};

// Attributes kept per memory map (later ones are ignored), and the longest value one may
// expand to: values can refer to earlier ones, so without a bound a few lines could double a
// value each.
constexpr size_t k_max_attributes = 64;
constexpr size_t k_max_expanded = 4096;

std::string_view next_token(std::string_view& s) {
    skip_spaces(s);
    const size_t end = std::min(s.find_first_of(" \t"), s.size());
    const std::string_view token = s.substr(0, end);
    s.remove_prefix(end);
    return token;
}

bool is_hex_token(std::string_view s) {
    uint64_t v = 0;
    return take_hex(s, v) && s.empty();
}

bool is_perms(std::string_view s) {
    return !s.empty() && s.size() <= 4 && s.find_first_not_of("-rwxps") == std::string_view::npos;
}

// The /proc/PID/maps fields after PERMS: OFFSET DEV INODE [PATH].
bool take_proc_maps_rest(std::string_view s, MapsLine& m) {
    int64_t inode = 0;
    skip_spaces(s);
    if (!take_hex(s, m.offset)) return false;
    const std::string_view dev = next_token(s);
    if (dev.find(':') == std::string_view::npos || !take_int(s, inode) || inode < 0) return false;
    m.path = trim(s);
    if (m.path.ends_with(" (deleted)")) m.path = trim(m.path.substr(0, m.path.size() - 10));
    return true;
}

MapsForm parse_maps_line(std::string_view line, MapsLine& m) {
    std::string_view s = line;
    take_prefix(s, "0x");
    if (!take_hex(s, m.start) || !take_prefix(s, "-")) {
        const size_t eq = line.find('=');
        return eq != std::string_view::npos && !trim(line.substr(0, eq)).empty()
                   ? MapsForm::attribute
                   : MapsForm::bad;
    }
    take_prefix(s, "0x");
    if (!take_hex(s, m.end) || m.end < m.start) return MapsForm::bad;
    const bool short_form = take_prefix(s, ":");
    if (!s.empty() && s.front() != ' ' && s.front() != '\t') return MapsForm::bad;
    std::string_view token = next_token(s);
    if (is_perms(token)) {
        m.executable = token.find('x') != std::string_view::npos;
        std::string_view after = s;
        if (!short_form && is_hex_token(next_token(after))) {
            // PERMS then an offset: the /proc/PID/maps form, all of whose fields must be there.
            return take_proc_maps_rest(s, m) ? MapsForm::mapping : MapsForm::bad;
        }
        token = next_token(s);
    }
    m.path = token;
    token = next_token(s);
    if (token.starts_with("(@")) {
        std::string_view offset = token.substr(2);
        if (!take_hex(offset, m.offset) || offset != ")") return MapsForm::bad;
        token = next_token(s);
    }
    if (is_hex_token(token)) m.build_id = token;  // anything after the path is optional to pprof
    return MapsForm::mapping;
}

// `path` with each `$NAME` of `attributes` replaced by its value, in one pass (a value is not
// expanded again); the first attribute that matches at a position wins, as in pprof. Stops once
// longer than k_max_expanded (the caller says so).
std::string substitute(std::string_view path,
                       const std::vector<std::pair<std::string, std::string>>& attributes) {
    std::string out;
    while (!path.empty() && out.size() <= k_max_expanded) {
        const auto match =
            path.front() != '$'
                ? attributes.end()
                : std::find_if(attributes.begin(), attributes.end(),
                               [&](const auto& a) { return path.starts_with(a.first); });
        if (match == attributes.end()) {
            out += path.front();
            path.remove_prefix(1);
        } else {
            out += match->second;
            path.remove_prefix(match->first.size());
        }
    }
    return out;
}

}  // namespace

std::vector<Mapping> parse_proc_maps(std::string_view text, std::string_view source_name,
                                     size_t first_line) {
    const Context ctx(source_name);
    std::vector<Mapping> out;
    std::vector<std::pair<std::string, std::string>> attributes;  // ("$name", value)
    Lines lines(text);
    std::string_view line;
    while (lines.next(line)) {
        const size_t number = first_line + lines.number() - 1;
        const std::string_view t = trim(line);
        if (t.empty()) continue;
        MapsLine m;
        switch (parse_maps_line(t, m)) {
            case MapsForm::bad:
                ctx.fail(number,
                         "expected a /proc/PID/maps line `START-END PERMS OFFSET DEV INODE PATH`, "
                         "a short one `START-END: PATH`, or `NAME=VALUE`, found `{}`",
                         t.substr(0, 80));
            case MapsForm::attribute: {
                const size_t eq = t.find('=');
                std::string name = "$" + std::string(trim(t.substr(0, eq)));
                // pprof expands the whole line, so a value may use the attributes before it.
                std::string value = substitute(trim(t.substr(eq + 1)), attributes);
                if (value.size() > k_max_expanded) {
                    ctx.fail(number, "`{}` expands to more than {} characters", name,
                             k_max_expanded);
                }
                if (attributes.size() < k_max_attributes) {
                    attributes.emplace_back(std::move(name), std::move(value));
                }
                continue;
            }
            case MapsForm::mapping:
                break;
        }
        if (!m.executable || m.path.empty()) continue;  // only code can be in a stack
        Mapping mapping;
        mapping.id = out.size() + 1;
        mapping.memory_start = m.start;
        mapping.memory_limit = m.end;
        mapping.file_offset = m.offset;
        mapping.filename = substitute(m.path, attributes);
        if (mapping.filename.size() > k_max_expanded) {
            ctx.fail(number, "the path expands to more than {} characters", k_max_expanded);
        }
        mapping.build_id = std::string(m.build_id);
        out.push_back(std::move(mapping));
    }
    return out;
}

}  // namespace leakhunt::profile
