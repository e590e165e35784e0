// The streaming .heapsnapshot reader; see v8_snapshot.hpp for the format and the rules.
#include "heapgraph/v8_snapshot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "heapgraph/v8_json_input.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::heapgraph {
namespace {

constexpr size_t k_max_header = size_t{16} << 20;

// What the meta says, as positions in a record.
struct Meta {
    size_t node_fields = 0, edge_fields = 0;
    size_t n_type = SIZE_MAX, n_name = SIZE_MAX, n_id = SIZE_MAX, n_self = SIZE_MAX,
           n_edges = SIZE_MAX, n_detached = SIZE_MAX;
    size_t e_type = SIZE_MAX, e_name = SIZE_MAX, e_to = SIZE_MAX;
    std::vector<std::string> node_type_names, edge_type_names;
    uint64_t node_count_hint = 0, edge_count_hint = 0;
};

size_t field_index(const nlohmann::json& fields, std::string_view name) {
    for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i].is_string() && fields[i].get<std::string>() == name) return i;
    }
    return SIZE_MAX;
}

std::vector<std::string> type_names(const nlohmann::json& types, size_t at) {
    std::vector<std::string> out;
    if (at >= types.size() || !types[at].is_array()) return out;
    for (const auto& t : types[at])
        out.push_back(t.is_string() ? t.get<std::string>() : std::string("?"));
    return out;
}

Meta read_meta(const std::string& text, V8JsonInput& in) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("meta") || !j["meta"].is_object()) {
        in.fail("\"snapshot\" has no \"meta\" object");
    }
    const nlohmann::json& m = j["meta"];
    auto arr = [&](const char* key) -> const nlohmann::json& {
        if (!m.contains(key) || !m[key].is_array())
            in.fail("snapshot.meta has no \"{}\" array", key);
        return m[key];
    };
    Meta meta;
    const auto& nf = arr("node_fields");
    const auto& ef = arr("edge_fields");
    meta.node_fields = nf.size();
    meta.edge_fields = ef.size();
    if (meta.node_fields == 0 || meta.node_fields > 64 || meta.edge_fields == 0 ||
        meta.edge_fields > 64) {
        in.fail("snapshot.meta names {} node fields and {} edge fields", meta.node_fields,
                meta.edge_fields);
    }
    meta.n_type = field_index(nf, "type");
    meta.n_name = field_index(nf, "name");
    meta.n_id = field_index(nf, "id");
    meta.n_self = field_index(nf, "self_size");
    meta.n_edges = field_index(nf, "edge_count");
    meta.n_detached = field_index(nf, "detachedness");  // 7-field formats only
    meta.e_type = field_index(ef, "type");
    meta.e_name = field_index(ef, "name_or_index");
    meta.e_to = field_index(ef, "to_node");
    for (auto [pos, name] : {std::pair{meta.n_type, "type"},
                             {meta.n_name, "name"},
                             {meta.n_id, "id"},
                             {meta.n_self, "self_size"},
                             {meta.n_edges, "edge_count"}}) {
        if (pos == SIZE_MAX) in.fail("snapshot.meta.node_fields has no \"{}\"", name);
    }
    for (auto [pos, name] :
         {std::pair{meta.e_type, "type"}, {meta.e_name, "name_or_index"}, {meta.e_to, "to_node"}}) {
        if (pos == SIZE_MAX) in.fail("snapshot.meta.edge_fields has no \"{}\"", name);
    }
    meta.node_type_names = type_names(arr("node_types"), meta.n_type);
    meta.edge_type_names = type_names(arr("edge_types"), meta.e_type);
    if (meta.node_type_names.empty() || meta.node_type_names.size() > 255 ||
        meta.edge_type_names.empty() || meta.edge_type_names.size() > 255) {
        in.fail("snapshot.meta lists no node or edge type names (or more than 255)");
    }
    if (j.contains("node_count") && j["node_count"].is_number_unsigned())
        meta.node_count_hint = j["node_count"].get<uint64_t>();
    if (j.contains("edge_count") && j["edge_count"].is_number_unsigned())
        meta.edge_count_hint = j["edge_count"].get<uint64_t>();
    return meta;
}

// The types' meanings, as DevTools' JSHeapSnapshot gives them.
void describe_types(Graph& g, const Meta& meta) {
    for (const std::string& name : meta.node_type_names) {
        NodeType t;
        t.name = name;
        t.class_is_name = name == "object" || name == "native";
        t.synthetic = name == "synthetic";
        t.named_in_paths =
            name == "synthetic" || name == "hidden" || name == "array" || name == "object shape";
        // Nodes of self size 0, natives too, stay out of class rows (DevTools' buildAggregates).
        if (!t.class_is_name) {
            const std::string cls = name == "hidden" ? "(system)"
                                    : name == "code" ? "(compiled code)"
                                                     : "(" + name + ")";
            t.class_name = g.strings.add(cls);
        }
        g.node_types.push_back(std::move(t));
    }
    for (const std::string& name : meta.edge_type_names) {
        EdgeType t;
        t.name = name;
        t.cls = name == "weak"       ? EdgeClass::weak
                : name == "shortcut" ? EdgeClass::shortcut
                                     : EdgeClass::strong;
        t.named_by_index = name == "element" || name == "hidden";
        g.edge_types.push_back(std::move(t));
    }
}

Graph parse(V8JsonInput& in) {
    std::optional<Meta> meta;
    Graph g;
    // Strings of the file are appended after the type class names; node and edge names are
    // indices into the file's strings, shifted once at the end.
    StringIndex file_strings_at = 0;
    std::vector<uint8_t> detachedness;  // per node, when the format has the field
    bool have_nodes = false, have_edges = false, have_strings = false;
    uint64_t edges_expected = 0;
    std::string key;

    in.expect('{', "the top level");
    if (in.next_token() == '}') in.fail("an empty object, not a heap snapshot");
    for (;;) {
        in.string(key, "the top level");
        in.expect(':', "the top level");
        if (key == "snapshot") {
            if (meta) in.fail("a second \"snapshot\"");
            std::string text;
            in.skip_value("\"snapshot\"", &text, k_max_header);
            meta = read_meta(text, in);
            describe_types(g, *meta);
            file_strings_at = static_cast<StringIndex>(g.strings.size());
        } else if (key == "nodes") {
            if (!meta) in.fail("\"nodes\" before \"snapshot\" (its meta says how to read them)");
            if (have_nodes) in.fail("a second \"nodes\"");
            have_nodes = true;
            const size_t nf = meta->node_fields;
            // Reserve from the header's count only as far as the file could hold it.
            const uint64_t hint = std::min<uint64_t>(meta->node_count_hint, uint64_t{1} << 28);
            g.node_name.reserve(hint);
            g.self_size.reserve(hint);
            g.node_id.reserve(hint);
            g.node_type.reserve(hint);
            g.first_edge.reserve(hint + 1);
            g.first_edge.push_back(0);
            in.expect('[', "\"nodes\"");
            std::vector<uint64_t> rec(nf);
            if (in.next_token() == ']') {
                in.get();
            } else {
                size_t k = 0;
                for (;;) {
                    rec[k] = in.number("\"nodes\"");
                    if (++k == nf) {
                        k = 0;
                        if (g.node_name.size() >= k_no_node)
                            in.fail("more than {} nodes", k_no_node - 1);
                        if (rec[meta->n_type] >= g.node_types.size())
                            in.fail("a node of unknown type {}", rec[meta->n_type]);
                        if (rec[meta->n_name] > UINT32_MAX - file_strings_at)
                            in.fail("a node name index out of range");
                        g.node_type.push_back(static_cast<uint8_t>(rec[meta->n_type]));
                        g.node_name.push_back(static_cast<StringIndex>(rec[meta->n_name]));
                        g.node_id.push_back(rec[meta->n_id]);
                        g.self_size.push_back(rec[meta->n_self]);
                        edges_expected += rec[meta->n_edges];
                        if (edges_expected > k_max_snapshot_number)
                            in.fail("edge counts add up past 2^53");
                        g.first_edge.push_back(edges_expected);
                        if (meta->n_detached != SIZE_MAX) {
                            detachedness.push_back(
                                static_cast<uint8_t>(std::min<uint64_t>(rec[meta->n_detached], 3)));
                        }
                    }
                    const int c = in.next_token();
                    in.get();
                    if (c == ']') {
                        if (k != 0)
                            in.fail("\"nodes\" ends inside a node ({} of {} fields)", k, nf);
                        break;
                    }
                    if (c != ',')
                        in.fail("expected ',' or ']' in \"nodes\", found {}",
                                V8JsonInput::shown(c));
                }
            }
        } else if (key == "edges") {
            if (!have_nodes) in.fail("\"edges\" before \"nodes\"");
            if (have_edges) in.fail("a second \"edges\"");
            have_edges = true;
            const size_t ef = meta->edge_fields;
            const uint64_t nodes = g.node_name.size();
            const uint64_t reserve = std::min<uint64_t>(edges_expected, uint64_t{1} << 30);
            g.edge_to.reserve(reserve);
            g.edge_name.reserve(reserve);
            g.edge_type.reserve(reserve);
            in.expect('[', "\"edges\"");
            std::vector<uint64_t> rec(ef);
            if (in.next_token() == ']') {
                in.get();
            } else {
                size_t k = 0;
                for (;;) {
                    rec[k] = in.number("\"edges\"");
                    if (++k == ef) {
                        k = 0;
                        if (g.edge_to.size() >= edges_expected)
                            in.fail("more edges than the nodes' edge counts add up to ({})",
                                    edges_expected);
                        const uint64_t type = rec[meta->e_type];
                        if (type >= g.edge_types.size())
                            in.fail("an edge of unknown type {}", type);
                        const uint64_t to = rec[meta->e_to];
                        if (to % meta->node_fields != 0 || to / meta->node_fields >= nodes) {
                            in.fail("an edge to {} that is not the start of one of the {} nodes",
                                    to, nodes);
                        }
                        const uint64_t name = rec[meta->e_name];
                        if (name > UINT32_MAX -
                                       (g.edge_types[type].named_by_index ? 0 : file_strings_at)) {
                            in.fail("an edge name or index out of range ({})", name);
                        }
                        g.edge_type.push_back(static_cast<uint8_t>(type));
                        g.edge_to.push_back(static_cast<NodeIndex>(to / meta->node_fields));
                        g.edge_name.push_back(static_cast<uint32_t>(name));
                    }
                    const int c = in.next_token();
                    in.get();
                    if (c == ']') {
                        if (k != 0)
                            in.fail("\"edges\" ends inside an edge ({} of {} fields)", k, ef);
                        break;
                    }
                    if (c != ',')
                        in.fail("expected ',' or ']' in \"edges\", found {}",
                                V8JsonInput::shown(c));
                }
            }
            if (g.edge_to.size() != edges_expected) {
                in.fail("{} edges, but the nodes' edge counts add up to {}", g.edge_to.size(),
                        edges_expected);
            }
        } else if (key == "strings") {
            if (!meta) in.fail("\"strings\" before \"snapshot\"");
            if (have_strings) in.fail("a second \"strings\"");
            have_strings = true;
            in.expect('[', "\"strings\"");
            std::string s;
            if (in.next_token() == ']') {
                in.get();
            } else {
                for (;;) {
                    in.string(s, "\"strings\"");
                    g.strings.add(s);
                    const int c = in.next_token();
                    in.get();
                    if (c == ']') break;
                    if (c != ',')
                        in.fail("expected ',' or ']' in \"strings\", found {}",
                                V8JsonInput::shown(c));
                }
            }
        } else {
            in.skip_value("\"" + key.substr(0, 40) + "\"");
        }
        const int c = in.next_token();
        in.get();
        if (c == '}') break;
        if (c != ',')
            in.fail("expected ',' or '}}' at the top level, found {}", V8JsonInput::shown(c));
    }
    if (in.next_token() != -1) in.fail("data after the end of the snapshot");
    if (!have_nodes || !have_edges || !have_strings) {
        in.fail("no \"{}\" array", !have_nodes ? "nodes" : !have_edges ? "edges" : "strings");
    }
    if (g.node_name.empty()) in.fail("no nodes (not even the root)");
    // Names are indices into the file's strings: shift them past the class names added first.
    for (auto& n : g.node_name) n += file_strings_at;
    for (EdgeIndex e = 0; e < g.edge_to.size(); ++e) {
        if (!g.edge_types[g.edge_type[e]].named_by_index) g.edge_name[e] += file_strings_at;
    }
    g.check(in.where());
    add_v8_retention_rules(g);
    name_detached_nodes(g, detachedness);
    return g;
}

}  // namespace

Graph parse_v8_snapshot(std::string_view bytes, const std::string& where) {
    V8JsonInput in(bytes, where);
    return parse(in);
}

Graph read_v8_snapshot(const std::filesystem::path& path) {
    const util::UniqueFd file = util::open_read_only(path);
    const int fd = file.get();
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    V8JsonInput in(fd, path.string());
    Graph g = parse(in);
    // The arrays were grown as the file was read: give back what they over-reserved.
    g.node_name.shrink_to_fit();
    g.self_size.shrink_to_fit();
    g.node_id.shrink_to_fit();
    g.node_type.shrink_to_fit();
    g.first_edge.shrink_to_fit();
    g.edge_to.shrink_to_fit();
    g.edge_name.shrink_to_fit();
    g.edge_type.shrink_to_fit();
    return g;
}

bool is_v8_snapshot_name(const std::filesystem::path& path) {
    return path.extension() == ".heapsnapshot";
}

}  // namespace leakhunt::heapgraph
