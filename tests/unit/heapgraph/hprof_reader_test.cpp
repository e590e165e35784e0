// The HPROF reader on tiny dumps written byte by byte here, with 4- and 8-byte ids: every node,
// edge, name and shallow size is worked out by hand from the layout rules in hprof_reader.hpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "heapgraph/dominators.hpp"
#include "heapgraph/hprof_reader.hpp"
#include "util/error.hpp"

namespace leakhunt::heapgraph {
namespace {

// Writes HPROF records (big-endian) with a given id size.
class Writer {
  public:
    enum class Header { yes, no };
    explicit Writer(unsigned id_size, Header header = Header::yes) : m_id(id_size) {
        if (header == Header::no) return;  // a segment's body
        m_out.append("JAVA PROFILE 1.0.2");
        m_out.push_back('\0');
        u4(id_size);
        u4(0);
        u4(0);
    }
    void string(uint64_t id, std::string_view s) {
        record(0x01, m_id + s.size());
        id_(id);
        m_out.append(s);
    }
    void load_class(uint32_t serial, uint64_t cls, uint64_t name) {
        record(0x02, 8 + 2 * m_id);
        u4(serial);
        id_(cls);
        u4(0);
        id_(name);
    }
    void start_thread(uint32_t serial, uint64_t obj, uint64_t name) {
        record(0x0a, 8 + 4 * m_id);
        u4(serial);
        id_(obj);
        u4(0);
        id_(name);
        id_(0);
        id_(0);
    }
    // A HEAP_DUMP_SEGMENT holding `body` (built with the sub-record writers below on another
    // Writer).
    void segment(const std::string& body) {
        record(0x1c, body.size());
        m_out.append(body);
    }

    void u1(uint8_t v) { m_out.push_back(static_cast<char>(v)); }
    void u2(uint16_t v) { put(v, 2); }
    void u4(uint32_t v) { put(v, 4); }
    void u8(uint64_t v) { put(v, 8); }
    void id_(uint64_t v) { put(v, m_id); }

    struct Field {
        uint64_t name;
        uint8_t type;
        uint64_t value = 0;
    };
    void class_dump(uint64_t id, uint64_t super, std::vector<Field> statics,
                    std::vector<Field> fields, uint64_t loader = 0) {
        u1(0x20);
        id_(id);
        u4(0);
        id_(super);
        id_(loader);
        for (int i = 0; i < 4; ++i) id_(0);  // signers, domain, reserved
        u4(0);
        u2(0);
        u2(static_cast<uint16_t>(statics.size()));
        for (const Field& f : statics) {
            id_(f.name);
            u1(f.type);
            value(f.type, f.value);
        }
        u2(static_cast<uint16_t>(fields.size()));
        for (const Field& f : fields) {
            id_(f.name);
            u1(f.type);
        }
    }
    void instance(uint64_t id, uint64_t cls, std::vector<Field> values) {
        std::string saved;
        saved.swap(m_out);
        for (const Field& f : values) value(f.type, f.value);
        saved.swap(m_out);
        u1(0x21);
        id_(id);
        u4(0);
        id_(cls);
        u4(static_cast<uint32_t>(saved.size()));
        m_out.append(saved);
    }
    void obj_array(uint64_t id, uint64_t cls, std::vector<uint64_t> elems) {
        u1(0x22);
        id_(id);
        u4(0);
        u4(static_cast<uint32_t>(elems.size()));
        id_(cls);
        for (uint64_t e : elems) id_(e);
    }
    void prim_array(uint64_t id, uint8_t type, uint32_t n, unsigned elem) {
        u1(0x23);
        id_(id);
        u4(0);
        u4(n);
        u1(type);
        m_out.append(size_t{n} * elem, '\x01');
    }
    void root(uint8_t tag, uint64_t id, std::vector<uint32_t> extra = {}) {
        u1(tag);
        id_(id);
        for (uint32_t v : extra) u4(v);
    }

    const std::string& bytes() const { return m_out; }
    std::string take() { return std::move(m_out); }
    unsigned id_size() const { return m_id; }

  private:
    void record(uint8_t tag, size_t len) {
        u1(tag);
        u4(0);
        u4(static_cast<uint32_t>(len));
    }
    void value(uint8_t type, uint64_t v) {
        switch (type) {
            case 2:
                id_(v);
                break;
            case 4:
            case 8:
                u1(static_cast<uint8_t>(v));
                break;
            case 5:
            case 9:
                u2(static_cast<uint16_t>(v));
                break;
            case 6:
            case 10:
                u4(static_cast<uint32_t>(v));
                break;
            default:
                u8(v);
                break;
        }
    }
    void put(uint64_t v, unsigned n) {
        for (unsigned i = n; i-- > 0;) m_out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }

    unsigned m_id;
    std::string m_out;
};

// Classes: Object(0x100), Holder(0x200: static `items`; fields int `count`, Object `next`),
// java.lang.ref.Reference(0x300: `referent`), Object[](0x400).
// Objects: Object[] 0x500 = {0x1000, null, 0x1100}; Holder 0x1000 {count 7, next 0x1100};
// Object 0x1100; Reference 0x1200 {referent 0x1300}; Object 0x1300; int[3] 0x1400; byte[5] 0x1500.
// Roots: sticky class Holder; Java frame of thread 1 ("main") holding 0x1200; an unknown root
// naming an object the dump lacks (skipped).
std::string tiny_dump(unsigned id_size) {
    Writer w(id_size);
    w.string(1, "java/lang/Object");
    w.string(2, "Holder");
    w.string(3, "items");
    w.string(4, "[Ljava/lang/Object;");
    w.string(5, "count");
    w.string(6, "java/lang/ref/Reference");
    w.string(7, "referent");
    w.string(8, "next");
    w.string(9, "main");
    w.load_class(1, 0x100, 1);
    w.load_class(2, 0x200, 2);
    w.load_class(3, 0x300, 6);
    w.load_class(4, 0x400, 4);
    w.start_thread(1, 0x7000, 9);
    Writer s(id_size, Writer::Header::no);
    s.class_dump(0x100, 0, {}, {});
    s.class_dump(0x200, 0x100, {{3, 2, 0x500}, {5, 10, 42}}, {{5, 10}, {8, 2}});
    s.class_dump(0x300, 0x100, {}, {{7, 2}});
    s.class_dump(0x400, 0x100, {}, {});
    s.root(0x05, 0x200);
    s.root(0x03, 0x1200, {1, 0});
    s.root(0xff, 0x9999);
    s.obj_array(0x500, 0x400, {0x1000, 0, 0x1100});
    s.instance(0x1000, 0x200, {{0, 10, 7}, {0, 2, 0x1100}});
    w.segment(s.take());
    Writer t(id_size, Writer::Header::no);  // a second segment
    t.instance(0x1100, 0x100, {});
    t.instance(0x1200, 0x300, {{0, 2, 0x1300}});
    t.instance(0x1300, 0x100, {});
    t.prim_array(0x1400, 10, 3, 4);
    t.prim_array(0x1500, 8, 5, 1);
    w.segment(t.take());
    return w.take();
}

struct EdgeText {
    NodeIndex from;
    NodeIndex to;
    std::string type;
    std::string name;
    bool operator==(const EdgeText&) const = default;
};
void PrintTo(const EdgeText& e, std::ostream* os) {
    *os << e.from << "->" << e.to << " " << e.type << " " << e.name;
}

std::vector<EdgeText> edges(const Graph& g) {
    std::vector<EdgeText> out;
    for (NodeIndex n = 0; n < g.node_count(); ++n) {
        for (EdgeIndex e = g.first_edge[n]; e < g.first_edge[n + 1]; ++e) {
            out.push_back({n, g.edge_to[e], g.type_of_edge(e).name, g.edge_label(e)});
        }
    }
    return out;
}

class parse_hprof_sizes : public ::testing::TestWithParam<unsigned> {};

TEST_P(parse_hprof_sizes, tiny_dump_nodes_edges_and_sizes) {
    const unsigned id = GetParam();
    const Graph g = parse_hprof(tiny_dump(id), "tiny.hprof");
    ASSERT_EQ(g.node_count(), 12u);
    EXPECT_EQ(g.node_id, (std::vector<uint64_t>{0, 0x100, 0x200, 0x300, 0x400, 0x500, 0x1000,
                                                0x1100, 0x1200, 0x1300, 0x1400, 0x1500}));
    std::vector<std::string> names, classes;
    for (NodeIndex n = 0; n < g.node_count(); ++n) {
        names.emplace_back(g.name(n));
        classes.emplace_back(g.class_name(n));
    }
    EXPECT_EQ(names, (std::vector<std::string>{
                         "(GC roots)", "class java.lang.Object", "class Holder",
                         "class java.lang.ref.Reference", "class java.lang.Object[]",
                         "java.lang.Object[]", "Holder", "java.lang.Object",
                         "java.lang.ref.Reference", "java.lang.Object", "int[]", "byte[]"}));
    EXPECT_EQ(classes[1], "java.lang.Class");
    EXPECT_EQ(classes[6], "Holder");
    // 8-byte ids: compressed oops (12-byte header, 4-byte refs, 16-byte array header).
    // 4-byte ids: a 32-bit JVM (8-byte header, 4-byte refs, 12-byte array header).
    const std::vector<uint64_t> sizes8{0, 16, 24, 16, 16, 32, 24, 16, 16, 16, 32, 24};
    const std::vector<uint64_t> sizes4{0, 8, 16, 8, 8, 24, 16, 8, 16, 8, 24, 24};
    EXPECT_EQ(g.self_size, id == 8 ? sizes8 : sizes4);
    EXPECT_EQ(edges(g), (std::vector<EdgeText>{
                            {0, 2, "sticky class", ""},
                            {0, 8, "Java frame", "thread main"},
                            {2, 1, "internal", "<super>"},
                            {2, 5, "static field", "items"},
                            {3, 1, "internal", "<super>"},
                            {4, 1, "internal", "<super>"},
                            {5, 6, "element", "[0]"},
                            {5, 7, "element", "[2]"},
                            {6, 7, "field", "next"},
                            {8, 9, "weak", "referent"},
                        }));
    // The referent does not retain; the array retains both objects it holds.
    const Dominators d = compute_dominators(Retention(g));
    EXPECT_EQ(d.idom[9], k_no_node);
    EXPECT_EQ(d.idom[7], 5u);
    EXPECT_EQ(d.idom[6], 5u);
    EXPECT_EQ(d.retained[5], g.self_size[5] + g.self_size[6] + g.self_size[7]);
    EXPECT_EQ(d.retained[2], g.self_size[2] + g.self_size[1] + d.retained[5]);
}

INSTANTIATE_TEST_SUITE_P(id_sizes, parse_hprof_sizes, ::testing::Values(4u, 8u));

TEST(parse_hprof, every_truncation_is_an_error_naming_the_file_and_offset) {
    const std::string full = tiny_dump(8);
    size_t parsed = 0;
    for (size_t n = 0; n < full.size(); ++n) {
        try {
            parse_hprof(std::string_view(full).substr(0, n), "cut.hprof");
            // A cut exactly between records leaves a shorter, valid dump; only those may parse:
            // the 16 records' ends (the last is the whole file) and the header's.
            ++parsed;
        } catch (const util::Error& e) {
            const std::string what = e.what();
            EXPECT_EQ(what.rfind("cut.hprof: ", 0), 0u) << what;
            EXPECT_NE(what.find("byte "), std::string::npos) << what;
        }
    }
    EXPECT_EQ(parsed, 16u);
}

TEST(parse_hprof, classes_of_the_application_loader_are_roots_and_held_by_their_loader) {
    // Object(0x100), ClassLoader(0x150), AppClassLoader(0x200, a ClassLoader); App(0x300, loaded
    // by 0x900, an AppClassLoader); Other(0x400, loaded by 0x910, a plain Object: no system
    // loader).
    Writer w(8);
    w.string(1, "java/lang/Object");
    w.string(2, "jdk/internal/loader/ClassLoaders$AppClassLoader");
    w.string(3, "App");
    w.string(4, "Other");
    w.string(5, "java/lang/ClassLoader");
    w.load_class(1, 0x100, 1);
    w.load_class(5, 0x150, 5);
    w.load_class(2, 0x200, 2);
    w.load_class(3, 0x300, 3);
    w.load_class(4, 0x400, 4);
    Writer s(8, Writer::Header::no);
    s.class_dump(0x100, 0, {}, {});
    s.class_dump(0x150, 0x100, {}, {});
    s.class_dump(0x200, 0x150, {}, {});
    s.class_dump(0x300, 0x100, {}, {}, 0x900);
    s.class_dump(0x400, 0x100, {}, {}, 0x910);
    s.instance(0x900, 0x200, {});
    s.instance(0x910, 0x100, {});
    w.segment(s.take());
    const Graph g = parse_hprof(w.bytes(), "loaders.hprof");
    // Nodes: root, 0x100, 0x150, 0x200, 0x300, 0x400, 0x900, 0x910.
    ASSERT_EQ(g.node_count(), 8u);
    EXPECT_EQ(edges(g), (std::vector<EdgeText>{
                            {0, 4, "system class", ""},
                            {2, 1, "internal", "<super>"},
                            {3, 2, "internal", "<super>"},
                            {4, 1, "internal", "<super>"},
                            {4, 6, "internal", "<class loader>"},
                            {5, 1, "internal", "<super>"},
                            {5, 7, "internal", "<class loader>"},
                            {6, 4, "internal", "<class>"},
                            {7, 5, "internal", "<class>"},
                        }));
    // A ClassLoader's injected loader_data (8 bytes) is counted though the dump does not list it.
    EXPECT_EQ(g.self_size[6], 24u);
    EXPECT_EQ(g.self_size[7], 16u);
}

TEST(parse_hprof, rejects_what_is_not_a_dump) {
    EXPECT_THROW(parse_hprof("JAVA PROFILE 9\0", "x"), util::Error);
    EXPECT_THROW(parse_hprof("", "x"), util::Error);
    Writer w(6);
    EXPECT_THROW(parse_hprof(w.bytes(), "x"), util::Error);  // id size 6
}

TEST(parse_hprof, an_instance_whose_data_disagrees_with_its_class_is_an_error) {
    Writer w(8);
    Writer s(8, Writer::Header::no);
    s.class_dump(0x100, 0, {}, {{1, 10}});
    s.instance(0x200, 0x100, {{0, 11, 5}});  // a long where the class declares an int
    w.segment(s.take());
    EXPECT_THROW(parse_hprof(w.bytes(), "x"), util::Error);
}

TEST(parse_hprof, an_object_dumped_twice_is_an_error) {
    Writer w(8);
    Writer s(8, Writer::Header::no);
    s.class_dump(0x100, 0, {}, {});
    s.instance(0x200, 0x100, {});
    s.instance(0x200, 0x100, {});
    w.segment(s.take());
    EXPECT_THROW(parse_hprof(w.bytes(), "x"), util::Error);
}

TEST(java_class_name, as_java_writes_it) {
    EXPECT_EQ(java_class_name("java/util/HashMap$Node"), "java.util.HashMap$Node");
    EXPECT_EQ(java_class_name("[Ljava/lang/String;"), "java.lang.String[]");
    EXPECT_EQ(java_class_name("[[I"), "int[][]");
    EXPECT_EQ(java_class_name("[J"), "long[]");
    EXPECT_EQ(java_class_name("[[Ljava/lang/Object;"), "java.lang.Object[][]");
    EXPECT_EQ(java_class_name("com/example/Foo$$Lambda$1+0x00007f7f34000a08"),
              "com.example.Foo$$Lambda$1/0x00007f7f34000a08");
}

}  // namespace
}  // namespace leakhunt::heapgraph
