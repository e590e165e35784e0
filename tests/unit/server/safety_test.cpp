// The server's defences: escaping, listen addresses, tokens, path containment.
#include "server/safety.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "util/error.hpp"

namespace leakhunt::server {
namespace {

namespace fs = std::filesystem;

TEST(HtmlEscape, EscapesMarkupAndQuotes) {
    EXPECT_EQ(html_escape("<script>alert(\"x\")</script> & 'y'"),
              "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
    EXPECT_EQ(html_escape("plain"), "plain");
}

TEST(ParseListen, AcceptsHostPortForms) {
    auto a = parse_listen("127.0.0.1:9464");
    EXPECT_EQ(a.host, "127.0.0.1");
    EXPECT_EQ(a.port, 9464);
    a = parse_listen("[::1]:0");
    EXPECT_EQ(a.host, "::1");
    EXPECT_EQ(a.port, 0);
    a = parse_listen(":8080");
    EXPECT_EQ(a.host, "127.0.0.1");
    EXPECT_THROW(parse_listen("localhost"), util::UsageError);
    EXPECT_THROW(parse_listen("::1:80"), util::UsageError);
    EXPECT_THROW(parse_listen("127.0.0.1:70000"), util::UsageError);
    EXPECT_THROW(parse_listen("127.0.0.1:http"), util::UsageError);
}

TEST(IsLoopback, OnlyAddressesNoOtherHostReaches) {
    EXPECT_TRUE(is_loopback("127.0.0.1"));
    EXPECT_TRUE(is_loopback("127.1.2.3"));
    EXPECT_TRUE(is_loopback("::1"));
    EXPECT_TRUE(is_loopback("localhost"));
    EXPECT_FALSE(is_loopback("0.0.0.0"));
    EXPECT_FALSE(is_loopback("::"));
    EXPECT_FALSE(is_loopback("192.168.1.10"));
    EXPECT_FALSE(is_loopback("128.0.0.1"));
    EXPECT_FALSE(is_loopback("example.com"));
}

TEST(CheckBearer, DistinguishesMissingWrongAndOk) {
    EXPECT_EQ(check_bearer("Bearer abc", "abc"), Auth::ok);
    EXPECT_EQ(check_bearer("bearer abc", "abc"), Auth::ok);
    EXPECT_EQ(check_bearer("", "abc"), Auth::missing);
    EXPECT_EQ(check_bearer("Basic YWJj", "abc"), Auth::missing);
    EXPECT_EQ(check_bearer("Bearer abd", "abc"), Auth::wrong);
    EXPECT_EQ(check_bearer("Bearer ab", "abc"), Auth::wrong);
    EXPECT_EQ(check_bearer("Bearer abcd", "abc"), Auth::wrong);
    EXPECT_EQ(check_bearer("Bearer abc", ""), Auth::no_token_configured);
}

class ResolveInside : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("leakhunt-safety-" + std::to_string(::getpid()));
        fs::create_directories(m_dir / "rec" / "sub");
        fs::create_directories(m_dir / "rec2");
        std::ofstream(m_dir / "rec" / "a.txt") << "a";
        std::ofstream(m_dir / "rec" / "sub" / "b.txt") << "b";
        std::ofstream(m_dir / "secret.txt") << "s";
        std::ofstream(m_dir / "rec2" / "c.txt") << "c";
        fs::create_symlink(m_dir / "secret.txt", m_dir / "rec" / "out.txt");
        fs::create_symlink("sub/b.txt", m_dir / "rec" / "in.txt");
        fs::create_directory_symlink(m_dir, m_dir / "rec" / "updir");
    }
    void TearDown() override { fs::remove_all(m_dir); }
    fs::path m_dir;
};

TEST_F(ResolveInside, AcceptsFilesInside) {
    const fs::path root = m_dir / "rec";
    EXPECT_EQ(resolve_inside(root, "a.txt"), fs::canonical(root / "a.txt"));
    EXPECT_EQ(resolve_inside(root, "sub/b.txt"), fs::canonical(root / "sub/b.txt"));
    EXPECT_EQ(resolve_inside(root, "sub/../a.txt"), fs::canonical(root / "a.txt"));
    EXPECT_EQ(resolve_inside(root, "in.txt"), fs::canonical(root / "sub/b.txt"));  // symlink inside
}

TEST_F(ResolveInside, RefusesEverythingOutside) {
    const fs::path root = m_dir / "rec";
    EXPECT_FALSE(resolve_inside(root, "../secret.txt"));
    EXPECT_FALSE(resolve_inside(root, "sub/../../secret.txt"));
    EXPECT_FALSE(resolve_inside(root, "../rec2/c.txt"));  // a sibling sharing the prefix
    EXPECT_FALSE(resolve_inside(root, (m_dir / "secret.txt").string()));  // absolute
    EXPECT_FALSE(resolve_inside(root, "out.txt"));                        // symlink to outside
    EXPECT_FALSE(resolve_inside(root, "updir/secret.txt"));  // directory symlink to outside
    EXPECT_FALSE(resolve_inside(root, "sub"));               // not a file
    EXPECT_FALSE(resolve_inside(root, "."));
    EXPECT_FALSE(resolve_inside(root, "missing.txt"));
    EXPECT_FALSE(resolve_inside(root, ""));
    EXPECT_FALSE(resolve_inside(root, std::string("a.txt\0x", 7)));
}

TEST(RedactHostPaths, CutsHostPathsToTheirLastComponent) {
    EXPECT_EQ(redact_host_paths("cannot read /tmp/rec/heap.1.0001.pb.gz: permission denied"),
              "cannot read heap.1.0001.pb.gz: permission denied");
    EXPECT_EQ(redact_host_paths("{\"source_path\":\"/tmp/rec\",\"x\":\"db:/etc/w.db\"}"),
              "{\"source_path\":\"rec\",\"x\":\"db:w.db\"}");
    EXPECT_EQ(redact_host_paths("<li>dir:/tmp/a/: ok</li> (/proc/1/environ)"),
              "<li>dir:a: ok</li> (environ)");
    // Routes are not host paths: their first component is not a directory of /.
    EXPECT_EQ(redact_host_paths("POST /api/snapshot?pid=N; GET /metrics or /"),
              "POST /api/snapshot?pid=N; GET /metrics or /");
    // Only where a path can start: not inside a relative path or a URL.
    EXPECT_EQ(redact_host_paths("rec/tmp/x http://h/tmp/x"), "rec/tmp/x http://h/tmp/x");
}

}  // namespace
}  // namespace leakhunt::server
