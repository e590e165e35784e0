// The streaming .heapsnapshot reader; see v8_snapshot.hpp for the format and the rules.
#include "heapgraph/v8_snapshot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace leakhunt::heapgraph {
namespace {

constexpr size_t k_chunk = size_t{1} << 20;
constexpr size_t k_max_header = size_t{16} << 20;
constexpr uint64_t k_max_number = (uint64_t{1} << 53) - 1;

// Bytes from a file (read in chunks) or from memory, with the absolute offset for errors.
class Input {
  public:
    Input(std::string_view bytes, std::string where) : m_where(std::move(where)) {
        m_data = bytes.data();
        m_end = bytes.size();
    }
    Input(int fd, std::string where) : m_where(std::move(where)), m_fd(fd), m_buf(k_chunk) {
        m_data = m_buf.data();
    }

    // The next byte, or -1 at the end.
    int peek() {
        if (m_pos == m_end && !refill()) return -1;
        return static_cast<unsigned char>(m_data[m_pos]);
    }
    int get() {
        const int c = peek();
        if (c >= 0) ++m_pos;
        return c;
    }
    int next_token() {  // skips white space, then peeks
        for (;;) {
            const int c = peek();
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c;
            ++m_pos;
        }
    }
    void expect(char want, std::string_view in) {
        const int c = next_token();
        if (c != want) fail("expected '{}' in {}, found {}", want, in, shown(c));
        ++m_pos;
    }
    uint64_t offset() const { return m_base + m_pos; }
    const std::string& where() const { return m_where; }

    template <typename... Args>
    [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
        throw util::Error("{}: byte {}: {} (not a complete V8 heap snapshot; take it again)",
                          m_where, offset(), fmt::format(f, std::forward<Args>(args)...));
    }
    static std::string shown(int c) {
        if (c < 0) return "the end of the file";
        if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", static_cast<char>(c));
        return fmt::format("byte {:#04x}", c);
    }

    // A non-negative integer, the next token. The hot path of the reader.
    uint64_t number(std::string_view in) {
        int c = next_token();
        if (c < '0' || c > '9') {
            if (c == '-') fail("a negative number in {}", in);
            fail("expected a number in {}, found {}", in, shown(c));
        }
        uint64_t v = 0;
        for (;;) {
            if (m_pos == m_end && !refill()) break;
            const char ch = m_data[m_pos];
            if (ch < '0' || ch > '9') break;
            v = v * 10 + static_cast<uint64_t>(ch - '0');
            if (v > k_max_number) fail("a number above 2^53 in {}", in);
            ++m_pos;
        }
        c = peek();
        if (c == '.' || c == 'e' || c == 'E') fail("a fractional number in {}", in);
        return v;
    }

    // A JSON string (the opening quote next), decoded to UTF-8 into `out`.
    void string(std::string& out, std::string_view in) {
        out.clear();
        if (next_token() != '"') fail("expected a string in {}, found {}", in, shown(peek()));
        ++m_pos;
        for (;;) {
            if (m_pos == m_end && !refill()) fail("a string in {} runs to the end of the file", in);
            // Copy the plain run at once.
            size_t run = m_pos;
            while (run < m_end && m_data[run] != '"' && m_data[run] != '\\' &&
                   static_cast<unsigned char>(m_data[run]) >= 0x20) {
                ++run;
            }
            out.append(m_data + m_pos, run - m_pos);
            m_pos = run;
            if (m_pos == m_end) continue;
            const char ch = m_data[m_pos++];
            if (ch == '"') return;
            if (ch != '\\') fail("a control character in a string in {}", in);
            const int e = get();
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp = hex4(in);
                    if (cp >= 0xd800 && cp < 0xdc00) {
                        // A high surrogate: a low one should follow; V8 writes lone ones too.
                        if (peek() == '\\') {
                            ++m_pos;
                            if (get() != 'u') fail("a bad escape in a string in {}", in);
                            const uint32_t lo = hex4(in);
                            if (lo >= 0xdc00 && lo < 0xe000) {
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                            } else {
                                put_utf8(out, 0xfffd);
                                cp = lo >= 0xd800 && lo < 0xe000 ? 0xfffd : lo;
                            }
                        } else {
                            cp = 0xfffd;
                        }
                    } else if (cp >= 0xdc00 && cp < 0xe000) {
                        cp = 0xfffd;
                    }
                    put_utf8(out, cp);
                    break;
                }
                default:
                    fail("a bad escape in a string in {}", in);
            }
        }
    }

    // Skips any JSON value, iteratively; appends its text to `copy` when given (bounded).
    void skip_value(std::string_view in, std::string* copy = nullptr, size_t limit = 0) {
        size_t depth = 0;
        std::string scratch;
        for (;;) {
            const int c = next_token();
            const uint64_t start = offset();
            auto keep = [&](std::string_view text) {
                if (copy == nullptr) return;
                copy->append(text);
                if (copy->size() > limit) fail("{} is larger than {} MB", in, limit >> 20);
            };
            if (c == '{' || c == '[') {
                ++m_pos;
                ++depth;
                keep(std::string_view(c == '{' ? "{" : "["));
                if (next_token() == (c == '{' ? '}' : ']')) {
                    ++m_pos;
                    --depth;
                    keep(c == '{' ? "}" : "]");
                    if (depth == 0) return;
                    goto after_value;
                }
                continue;
            }
            if (c == '"') {
                string(scratch, in);
                // Re-encoded for the kept text; bytes that are not UTF-8 (the input is untrusted)
                // become U+FFFD rather than an exception.
                keep(nlohmann::json(scratch).dump(-1, ' ', false,
                                                  nlohmann::json::error_handler_t::replace));
            } else if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
                // A scalar: copy its characters.
                std::string lit;
                for (int d = peek();
                     d >= 0 && (std::isalnum(d) || d == '-' || d == '+' || d == '.'); d = peek()) {
                    lit += static_cast<char>(d);
                    ++m_pos;
                    if (lit.size() > 400) fail("a value too long in {}", in);
                }
                keep(lit);
            } else {
                fail("expected a value in {}, found {}", in, shown(c));
            }
            (void)start;
        after_value:
            if (depth == 0) return;
            // Inside a container: a key's ':' , a ',' or the closing bracket.
            for (;;) {
                const int d = next_token();
                if (d == ':' || d == ',') {
                    ++m_pos;
                    keep(d == ':' ? ":" : ",");
                    break;
                }
                if (d == '}' || d == ']') {
                    ++m_pos;
                    keep(d == '}' ? "}" : "]");
                    if (--depth == 0) return;
                    continue;
                }
                fail("expected ',' or a closing bracket in {}, found {}", in, shown(d));
            }
        }
    }

  private:
    bool refill() {
        if (m_fd < 0) return false;
        m_base += m_end;
        m_pos = m_end = 0;
        for (;;) {
            const ssize_t got = ::read(m_fd, m_buf.data(), m_buf.size());
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw util::Error("{}: cannot read: {}", m_where, util::errno_text(errno));
            m_end = static_cast<size_t>(got);
            return got > 0;
        }
    }
    uint32_t hex4(std::string_view in) {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            const int c = get();
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= static_cast<uint32_t>(c - 'A' + 10);
            else
                fail("a bad \\u escape in a string in {}", in);
        }
        return v;
    }
    static void put_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    std::string m_where;
    int m_fd = -1;
    std::vector<char> m_buf;
    const char* m_data = nullptr;
    size_t m_pos = 0, m_end = 0;
    uint64_t m_base = 0;
};

// What the meta says, as positions in a record.
struct Meta {
    size_t node_fields = 0, edge_fields = 0;
    size_t n_type = SIZE_MAX, n_name = SIZE_MAX, n_id = SIZE_MAX, n_self = SIZE_MAX,
           n_edges = SIZE_MAX;
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

Meta read_meta(const std::string& text, Input& in) {
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

Graph parse(Input& in) {
    std::optional<Meta> meta;
    Graph g;
    // Strings of the file are appended after the type class names; node and edge names are
    // indices into the file's strings, shifted once at the end.
    StringIndex file_strings_at = 0;
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
                        if (edges_expected > k_max_number) in.fail("edge counts add up past 2^53");
                        g.first_edge.push_back(edges_expected);
                    }
                    const int c = in.next_token();
                    in.get();
                    if (c == ']') {
                        if (k != 0)
                            in.fail("\"nodes\" ends inside a node ({} of {} fields)", k, nf);
                        break;
                    }
                    if (c != ',')
                        in.fail("expected ',' or ']' in \"nodes\", found {}", Input::shown(c));
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
                        in.fail("expected ',' or ']' in \"edges\", found {}", Input::shown(c));
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
                        in.fail("expected ',' or ']' in \"strings\", found {}", Input::shown(c));
                }
            }
        } else {
            in.skip_value("\"" + key.substr(0, 40) + "\"");
        }
        const int c = in.next_token();
        in.get();
        if (c == '}') break;
        if (c != ',') in.fail("expected ',' or '}}' at the top level, found {}", Input::shown(c));
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
    return g;
}

}  // namespace

Graph parse_v8_snapshot(std::string_view bytes, const std::string& where) {
    Input in(bytes, where);
    return parse(in);
}

Graph read_v8_snapshot(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw util::Error("cannot open {}: {}", path.string(), util::errno_text(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    Input in(fd, path.string());
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
