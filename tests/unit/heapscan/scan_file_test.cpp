// parse_scan_file: a well-formed file read back field by field; damaged files (wrong magic,
// version, truncation, dangling references) rejected with a message naming the file.
#include "heapscan/scan_file.hpp"

#include <gtest/gtest.h>

#include "scan_file_builder.hpp"
#include "util/error.hpp"

namespace leakhunt::heapscan {
namespace {

using format::ScanTag;
using test::ScanBuilder;

std::string error_of(const std::string& data) {
    try {
        parse_scan_file(data, "x.scan");
    } catch (const util::Error& e) {
        return e.what();
    }
    return "";
}

ScanBuilder valid() {
    ScanBuilder b;
    b.summary()
        .record(ScanTag::module, 0u, 0x1000u, std::string("/bin/app"), std::string("abcd"), 2u,
                0x1000u, 0x2000u, 5u, 0x3000u, 0x4000u, 3u)
        .record(ScanTag::thread, 0u, 42u, std::string("app"))
        .record(ScanTag::stack, 1u, 2u, 0x1100u, 0x1200u)
        .record(ScanTag::root, 3u, 1u, 0u, 0x3010u, 0u, 0u, 0u)
        .record(ScanTag::shape, 1u, 0u, 3u, 1u, 0u, 0u, 1u, 100u, 5u, 500u)
        .record(ScanTag::shape, 2u, 1u, 0u, 1u, 8u, 3u, 4u, 400u, 4u, 400u)
        .record(ScanTag::leak, 1u, 2u, 64u, 3u, 96u)
        .record(ScanTag::site, 1u, 5u, 500u);
    return b;
}

TEST(ParseScanFile, ReadsEveryRecord) {
    const ScanFile f = parse_scan_file(valid().finish(), "x.scan");
    EXPECT_EQ(f.summary.pid, 42);
    EXPECT_EQ(f.summary.pause_us, 1500u);
    EXPECT_EQ(f.summary.mark_us, 900u);
    EXPECT_EQ(f.summary.blocks, 10u);
    EXPECT_EQ(f.summary.reachable_bytes, 700u);
    EXPECT_EQ(f.summary.reason, "request");
    EXPECT_EQ(f.summary.scratch_bytes, 65536u);
    ASSERT_EQ(f.modules.size(), 1u);
    EXPECT_EQ(f.modules[0].path, "/bin/app");
    EXPECT_EQ(f.modules[0].bias, 0x1000u);
    ASSERT_EQ(f.modules[0].segments.size(), 2u);
    EXPECT_EQ(f.modules[0].segments[1].flags, 3u);
    ASSERT_EQ(f.threads.size(), 1u);
    EXPECT_EQ(f.threads[0].tid, 42);
    EXPECT_EQ(f.stacks.at(1), (std::vector<uint64_t>{0x1100, 0x1200}));
    EXPECT_EQ(f.roots.at(3).kind, format::RootKind::global);
    EXPECT_EQ(f.roots.at(3).address, 0x3010u);
    ASSERT_EQ(f.shapes.size(), 2u);
    EXPECT_EQ(f.shapes[1].parent, 1u);
    EXPECT_EQ(f.shapes[1].offset, 8u);
    EXPECT_EQ(f.shapes[1].flags, 3u);
    EXPECT_EQ(f.shapes[0].retained_bytes, 500u);
    ASSERT_EQ(f.leaks.size(), 1u);
    EXPECT_EQ(f.leaks[0].indirect_bytes, 96u);
    ASSERT_EQ(f.sites.size(), 1u);
    EXPECT_EQ(f.sites[0].bytes, 500u);
}

TEST(ParseScanFile, ReadsMappingAndLoaderRootsAndTheRootFigures) {
    ScanBuilder b;
    b.record(format::ScanTag::summary, 42u, 1700000000000u, 1500u, 900u, 2u, 10u, 1000u, 7u, 700u,
             4096u, std::string("exit"), 65536u, 3u, 1048576u, 12u, 1u)
        .record(ScanTag::root, 1u, 5u, 0u, 0x7f0000000000u, 0x7f0000100000u, 0u, 0u)
        .record(ScanTag::root, 2u, 6u, 0u, 0u, 0u, 0u, 0u);
    const ScanFile f = parse_scan_file(b.finish(), "x.scan");
    EXPECT_EQ(f.summary.mapping_roots, 3u);
    EXPECT_EQ(f.summary.mapping_root_bytes, 1048576u);
    EXPECT_EQ(f.summary.loader_blocks, 12u);
    EXPECT_EQ(f.summary.finished_threads, 1u);
    EXPECT_EQ(f.roots.at(1).kind, format::RootKind::mapping);
    EXPECT_EQ(f.roots.at(1).pc, 0x7f0000100000u);
    EXPECT_EQ(f.roots.at(2).kind, format::RootKind::loader);
    // A file without the figures (an older agent) reads them as 0.
    EXPECT_EQ(parse_scan_file(valid().finish(), "x.scan").summary.mapping_roots, 0u);
    ScanBuilder bad;
    bad.summary().record(ScanTag::root, 1u, 7u, 0u, 0u, 0u, 0u, 0u);
    EXPECT_THROW(parse_scan_file(bad.finish(), "x.scan"), util::Error);
}

TEST(ParseScanFile, RejectsOtherFiles) {
    EXPECT_NE(error_of("hello").find("x.scan: not a leakhunt heap scan file"), std::string::npos);
    std::string v = valid().finish();
    v[8] = 9;  // version
    EXPECT_NE(error_of(v).find("version 9 is not supported"), std::string::npos);
}

TEST(ParseScanFile, DetectsTruncation) {
    const std::string full = valid().finish();
    for (size_t cut : {full.size() - 1, full.size() - 8, full.size() / 2, size_t{12}}) {
        const std::string e = error_of(full.substr(0, cut));
        EXPECT_NE(e.find("truncated"), std::string::npos) << cut << ": " << e;
    }
}

TEST(ParseScanFile, RejectsDanglingReferences) {
    ScanBuilder b;
    b.summary().record(ScanTag::shape, 1u, 0u, 7u, 1u, 0u, 0u, 1u, 8u, 1u, 8u);
    EXPECT_NE(error_of(b.finish()).find("shape 1 names root 7, which is not in the file"),
              std::string::npos);
    ScanBuilder c;
    c.summary().record(ScanTag::shape, 2u, 0u, 0u, 1u, 0u, 0u, 1u, 8u, 1u, 8u);
    EXPECT_NE(error_of(c.finish()).find("shape record is out of order"), std::string::npos);
    ScanBuilder d;
    d.summary().record(ScanTag::root, 1u, 4u, 3u, 0u, 0u, 0u, 0u);
    EXPECT_NE(error_of(d.finish()).find("root 1 names thread 3"), std::string::npos);
}

TEST(ParseScanFile, NeedsASummary) {
    ScanBuilder b;
    EXPECT_NE(error_of(b.finish()).find("no summary record"), std::string::npos);
}

TEST(ScanPathFor, FindsTheScanBesideASnapshot) {
    EXPECT_THROW(scan_path_for("/nonexistent/heap.1.0000.pb.gz"), util::Error);
}

}  // namespace
}  // namespace leakhunt::heapscan
