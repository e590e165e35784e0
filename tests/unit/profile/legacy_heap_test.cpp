// Tests for the gperftools / Go legacy / jemalloc text heap readers (legacy_heap.hpp) and the
// format probe of parse_profile: real files written by the allocators (tests/data/profile/*.heap,
// made by tests/victims/victim_heapprof.cpp and tests/victims/go/leaky_go.go; see the README
// there), hand-written edge cases with exact un-sampled values, and every kind of bad input.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <string>

#include "profile/fetch.hpp"
#include "profile/gzip.hpp"
#include "profile/legacy_heap.hpp"
#include "profile/pprof.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::profile {
namespace {

const std::string k_dir = LEAKHUNT_TEST_DATA "/profile/";

// The error parse_profile throws for `bytes`, or "" if it parses.
std::string parse_error(std::string_view bytes) {
    try {
        parse_profile(bytes, "bad.heap");
    } catch (const util::Error& e) {
        return e.what();
    }
    return "";
}

int64_t total(const Profile& p, std::string_view type) {
    const size_t i = *sample_type_index(p, type);
    int64_t sum = 0;
    for (const auto& s : p.samples) sum += s.values[i];
    return sum;
}

const Mapping& mapping_of(const Profile& p, uint64_t location_id) {
    return *find_mapping(p, find_location(p, location_id)->mapping_id);
}

}  // namespace

TEST(ParseLegacyHeap, GperftoolsHeapprofileIsExact) {
    // victim_heapprof 10 4096 under HEAPPROFILE: leak_blocks keeps 10 x 4096, stdio 1 x 4096,
    // churn() allocated and freed 2 x 500 x 1000.
    const Profile p = read_profile(k_dir + "gperftools_heapprofile.heap");
    EXPECT_EQ(p.sample_types, make_heap_profile().sample_types);
    EXPECT_EQ(p.period, 1);
    ASSERT_EQ(p.samples.size(), 5U);
    EXPECT_EQ(p.samples[0].values, (std::vector<int64_t>{10, 40960, 10, 40960}));
    EXPECT_EQ(p.samples[2].values, (std::vector<int64_t>{500, 500000, 0, 0}));
    EXPECT_EQ(total(p, "inuse_space"), 45056);
    EXPECT_EQ(total(p, "inuse_objects"), 11);
    EXPECT_EQ(total(p, "alloc_space"), 1045136);
    EXPECT_EQ(total(p, "alloc_objects"), 1012);
    ASSERT_EQ(p.samples[0].labels.size(), 1U);
    EXPECT_EQ(p.samples[0].labels[0].key, "bytes");
    EXPECT_EQ(p.samples[0].labels[0].num, 4096);
    // Return addresses step back onto the call; the leaf is in the victim's text mapping.
    const Location* leaf = find_location(p, p.samples[0].location_ids[0]);
    EXPECT_EQ(leaf->address, 0x562de7eac28cU - 1);
    EXPECT_EQ(p.samples[0].location_ids.size(), 5U);
    const Mapping& m = mapping_of(p, leaf->id);
    EXPECT_EQ(m.filename, "/tmp/lh/victim_heapprof");
    EXPECT_EQ(m.memory_start, 0x562de7eac000U);
    EXPECT_EQ(m.memory_limit, 0x562de7ead000U);
    EXPECT_EQ(m.file_offset, 0x1000U);
    EXPECT_EQ(p.mappings.size(), 12U);  // the executable entries only, [vdso] and [vsyscall] too
    // Shared stacks share locations.
    EXPECT_EQ(p.samples[2].location_ids[0], p.samples[3].location_ids[0]);
}

TEST(ParseLegacyHeap, GperftoolsHeapV2IsUnsampled) {
    // victim_tcmalloc_sample 300 65536 with TCMALLOC_SAMPLE_PARAMETER=65536: 26 samples of one
    // 64 KiB block, each scaled by 1 / (1 - exp(-65536 / 65536)).
    const Profile p = read_profile(k_dir + "gperftools_heap_v2.heap");
    EXPECT_EQ(p.period, 65536);
    ASSERT_EQ(p.samples.size(), 26U);
    EXPECT_EQ(p.samples[0].values, (std::vector<int64_t>{1, 103676, 1, 103676}));
    EXPECT_EQ(total(p, "inuse_space"), 26 * 103676);
    // tc_malloc's own frame (in libtcmalloc) is dropped: the leaf is the victim's code.
    const Location* leaf = find_location(p, p.samples[0].location_ids[0]);
    EXPECT_EQ(leaf->address, 0x55d339adf2ecU - 1);
    EXPECT_EQ(p.samples[0].location_ids.size(), 5U);
}

TEST(ParseLegacyHeap, JemallocHeapV2) {
    // victim_heapprof 10 4096 under jemalloc with prof:true,lg_prof_sample:0 (every allocation).
    const Profile p = read_profile(k_dir + "jemalloc_heap_v2.heap");
    EXPECT_EQ(p.period, 1);
    ASSERT_EQ(p.samples.size(), 3U);
    EXPECT_EQ(p.samples[0].values, (std::vector<int64_t>{10, 40960, 10, 40960}));
    EXPECT_EQ(total(p, "inuse_space"), 126976);
    EXPECT_EQ(total(p, "inuse_objects"), 12);
    // jemalloc's four own frames (prof_backtrace ... malloc) are dropped.
    const Location* leaf = find_location(p, p.samples[0].location_ids[0]);
    EXPECT_EQ(leaf->address, 0x5569feb7928cU - 1);
    EXPECT_EQ(p.samples[0].location_ids.size(), 5U);
    EXPECT_EQ(mapping_of(p, leaf->id).filename, "/tmp/lh/victim_heapprof");
    // No allocation totals in the file ([0: 0]): alloc is the in-use lower bound, and says so.
    EXPECT_EQ(total(p, "alloc_space"), 126976);
    EXPECT_NE(p.comments.at(1).find("in-use values"), std::string::npos);
}

TEST(ParseLegacyHeap, GoDebug1TextKeepsGoSymbols) {
    // leaky_go -rate 524288, /debug/pprof/heap?debug=1: `@ heap/1048576` is twice the rate.
    const Profile p = read_profile(k_dir + "go_heap_debug1.heap");
    EXPECT_EQ(p.period, 524288);
    ASSERT_FALSE(p.samples.empty());
    const Location* leaf = find_location(p, p.samples[0].location_ids[0]);
    EXPECT_EQ(leaf->address, 0x674e50U);
    ASSERT_EQ(leaf->lines.size(), 1U);
    const Function* f = find_function(p, leaf->lines[0].function_id);
    EXPECT_EQ(f->name, "main.leakyCache");
    EXPECT_EQ(leaf->lines[0].line, 30);
    EXPECT_TRUE(f->filename.ends_with("leaky_go.go"));
    // 9 blocks of 64 KiB sampled at 512 KiB: scale 1 / (1 - exp(-65536 / 524288)).
    const double scale = 1.0 / (1.0 - std::exp(-65536.0 / 524288.0));
    EXPECT_EQ(p.samples[0].values[2], static_cast<int64_t>(9 * scale));
    EXPECT_EQ(p.samples[0].values[3], static_cast<int64_t>(589824 * scale));
}

TEST(ParseLegacyHeap, HandWrittenSampledValues) {
    const std::string text =
        "heap profile: 3: 12288 [ 5: 20480] @ heap_v2/524288\n"
        "3: 12288 [5: 20480] @ 0x1001 0x2002\n"
        "0: 0 [0: 0] @\n"
        "\n"
        "MAPPED_LIBRARIES:\n"
        "00001000-00002000 r-xp 00000000 08:01 42 /usr/bin/app (deleted)\n"
        "00002000-00003000 rw-p 00001000 08:01 42 /usr/bin/app\n";
    const Profile p = parse_profile(text, "x.heap");
    ASSERT_EQ(p.samples.size(), 2U);
    const double s = 1.0 / (1.0 - std::exp(-4096.0 / 524288.0));
    EXPECT_EQ(p.samples[0].values,
              (std::vector<int64_t>{static_cast<int64_t>(5 * s), static_cast<int64_t>(20480 * s),
                                    static_cast<int64_t>(3 * s), static_cast<int64_t>(12288 * s)}));
    EXPECT_EQ(p.samples[0].values[2], 385);
    EXPECT_EQ(p.samples[1].values, (std::vector<int64_t>{0, 0, 0, 0}));
    EXPECT_TRUE(p.samples[1].location_ids.empty());
    ASSERT_EQ(p.mappings.size(), 1U);
    EXPECT_EQ(p.mappings[0].filename, "/usr/bin/app");
    EXPECT_EQ(find_location(p, p.samples[0].location_ids[0])->mapping_id, 1U);
    EXPECT_EQ(find_location(p, p.samples[0].location_ids[1])->mapping_id, 0U);  // outside
}

TEST(ParseLegacyHeap, GzippedTextIsRead) {
    const std::string text = util::read_file(k_dir + "gperftools_heapprofile.heap");
    EXPECT_EQ(parse_profile(gzip(text), "x.heap.gz"), parse_profile(text, "x.heap.gz"));
}

TEST(ParseLegacyHeap, ProbeAcceptsOnlyKnownHeaders) {
    EXPECT_TRUE(is_legacy_heap("heap profile: 1: 2 [3: 4] @ heapprofile\n"));
    EXPECT_TRUE(is_legacy_heap("\n heap_v2/524288\n"));
    EXPECT_FALSE(is_legacy_heap("heap_v3/1\n"));
    EXPECT_FALSE(is_legacy_heap("--- contention ---\n"));
}

TEST(ParseLegacyHeap, GperftoolsShortMemoryMapWithSourceAttribute) {
    // heapz_v2 sampled every 524288 bytes, then pprof's short map lines after `--- Memory map:
    // ---` and a `source=` line that the first path refers to as $source (the layout of
    // gperftools' heapz output; see tests/data/profile/README.md). Values as `go tool pprof -raw`
    // shows them: 2 x 16 KiB -> 65 objects, 1065045 bytes; 3 x 3 KiB -> 513, 1577476.
    const Profile p = read_profile(k_dir + "gperftools_memory_map.heap");
    ASSERT_EQ(p.samples.size(), 2U);
    EXPECT_EQ(p.samples[0].values, (std::vector<int64_t>{65, 1065045, 65, 1065045}));
    EXPECT_EQ(p.samples[1].values, (std::vector<int64_t>{513, 1577476, 513, 1577476}));
    ASSERT_EQ(p.mappings.size(), 4U);
    EXPECT_EQ(p.mappings[0].filename, "/opt/build/leaky_server");
    EXPECT_EQ(p.mappings[0].memory_start, 0x400000U);
    EXPECT_EQ(p.mappings[0].memory_limit, 0x402000U);
    EXPECT_EQ(p.mappings[1].filename, "/lib/x86_64-linux-gnu/libc.so.6");
    EXPECT_EQ(p.mappings[2].filename, "[vdso]");
    EXPECT_EQ(find_location(p, p.samples[0].location_ids[0])->address, 0x401235U);
    EXPECT_EQ(mapping_of(p, p.samples[0].location_ids[0]).filename, "/opt/build/leaky_server");
    EXPECT_EQ(mapping_of(p, p.samples[0].location_ids[2]).filename,
              "/lib/x86_64-linux-gnu/libc.so.6");
}

TEST(ParseProcMaps, ShortLinesPermsOffsetBuildIdAndAttributes) {
    const auto maps = parse_proc_maps(
        "root=/srv\n"
        "lib = $root/lib\n"
        "0x1000-0x2000 /bin/a\n"                       // pprof's recommended form
        "3000-4000: r-xp $lib/b.so (@1f000) abc123\n"  // perms, offset, build id
        "5000-6000: rw-p $lib/data\n"                  // not code: skipped
        "7000-8000 r-xp 00002000 08:01 42 /bin/with space (deleted)\n"
        "9000-a000: $root$rootx\n",  // one pass, first match
        "m");
    ASSERT_EQ(maps.size(), 4U);
    EXPECT_EQ(maps[0].filename, "/bin/a");
    EXPECT_EQ(maps[0].memory_start, 0x1000U);
    EXPECT_EQ(maps[1].filename, "/srv/lib/b.so");
    EXPECT_EQ(maps[1].file_offset, 0x1f000U);
    EXPECT_EQ(maps[1].build_id, "abc123");
    EXPECT_EQ(maps[2].filename, "/bin/with space");
    EXPECT_EQ(maps[2].file_offset, 0x2000U);
    EXPECT_EQ(maps[3].filename, "/srv/srvx");
    EXPECT_EQ(maps[3].id, 4U);
}

TEST(ParseLegacyHeap, GoEmptyStackSampleIsKept) {
    // Go's legacy text can have a sample with no frames (`2: 192 [4: 384] @`); pprof keeps it in
    // the total. Un-sampled with Go's rate 1048576 / 2 as `go tool pprof -raw` does.
    const Profile p = read_profile(k_dir + "go_legacy_empty_stack.heap");
    ASSERT_EQ(p.samples.size(), 4U);
    EXPECT_TRUE(p.samples[1].location_ids.empty());
    EXPECT_EQ(p.samples[1].values, (std::vector<int64_t>{21847, 2097344, 10923, 1048672}));
    // go tool pprof -top -unit=B: "of 2402883B total".
    EXPECT_EQ(total(p, "inuse_space"), 2402883);
}

TEST(ParseLegacyHeap, GrowthAndFragmentationProfilesAreAKindNotRead) {
    const std::string growth = parse_error(
        "heap profile: 85: 178257920 [ 85: 178257920] @ growthz\n"
        "     1:  2097152 [     1:  2097152] @ 0xb83003\n");
    EXPECT_EQ(growth,
              "cannot read bad.heap:1: it is a gperftools `growthz` profile (the stacks that grew "
              "the heap, not what it holds), a kind leakhunt does not read; give it a heap "
              "profile (`@ heapprofile`, `heap_v2/RATE` or `heapz_v2/RATE`: HEAPPROFILE=, "
              "MallocExtension::GetHeapSample, /pprof/heap)");
    EXPECT_EQ(growth.find("corrupt"), std::string::npos);
    EXPECT_NE(parse_error("heap profile: 1: 2 [1: 2] @ fragmentationz\n")
                  .find("a gperftools `fragmentationz` profile (the stacks behind fragmented"),
              std::string::npos);
    // Untrusted bytes of the kind are not echoed as they are.
    EXPECT_NE(parse_error("heap profile: 1: 2 [1: 2] @ he\x1b[2Jap\n").find("@ he??2Jap`"),
              std::string::npos);
}

TEST(ParseProfileErrors, EachBadInputHasOneClearError) {
    EXPECT_EQ(parse_error(""),
              "cannot read bad.heap: the file is empty (expected a heap profile; take the "
              "profile again)");
    EXPECT_EQ(parse_error("goroutine profile: total 4\n"),
              "cannot read bad.heap: not a heap profile leakhunt can read (expected pprof "
              "protobuf, gzip-compressed or raw, a gperftools heap profile or a jemalloc heap_v2 "
              "profile; the file starts with \"goroutine profile: total\")");
    const std::string gz = gzip("heap profile: 1: 2 [1: 2] @ heapprofile\n");
    EXPECT_NE(parse_error(gz.substr(0, gz.size() - 6)).find("the gzip stream is truncated"),
              std::string::npos);
    EXPECT_NE(parse_error(std::string("\x0a\x08\x08\x01\x10\x02\xff\xff", 8))
                  .find("it is not a pprof profile (the protobuf data is invalid or truncated"),
              std::string::npos);
    EXPECT_EQ(parse_error("heap profile: 1: 2 [1: 2] @ heapz\n"),
              "cannot read bad.heap:1: `heap profile: ... @ heapz` is a kind of heap profile "
              "leakhunt does not read (it reads heapprofile, heap/RATE, heap_v2/RATE and "
              "heapz_v2/RATE)");
    EXPECT_NE(parse_error("heap profile: 1: 2 [1: 2] @ heapprofile\n1: 2 [1: 2] @ 0xZZ\n")
                  .find("bad.heap:2: expected `N: BYTES [N: BYTES] @ 0x... 0x...`"),
              std::string::npos);
    EXPECT_NE(parse_error("heap profile: 1: 2 [1: 2] @ heapprofile\n0: 5 [1: 2] @ 0x1\n")
                  .find("bad.heap:2: in-use count was 0 but in-use bytes was 5"),
              std::string::npos);
    EXPECT_NE(parse_error("heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x1 0x2\n")
                  .find("bad.heap:3: the stack has no `t*:` line"),
              std::string::npos);
    EXPECT_NE(parse_error("heap_v2/x\n").find("bad.heap:1: the sampling rate"), std::string::npos);
    EXPECT_NE(parse_error("heap profile: 1: 2 [1: 2] @ heapprofile\n\nMAPPED_LIBRARIES:\n"
                          "00400000-00401000 r-xp 0000\n")
                  .find("bad.heap:4: expected a /proc/PID/maps line"),
              std::string::npos);
    EXPECT_NE(parse_error("heap profile: 1: 99999999999999999999 [1: 2] @ heapprofile\n")
                  .find("bad.heap:1: the header is not"),
              std::string::npos);
}

TEST(ParseUrl, SplitsAndRejects) {
    const Url u = parse_url("http://127.0.0.1:6060/debug/pprof/heap?gc=1");
    EXPECT_EQ(u.scheme_host_port, "http://127.0.0.1:6060");
    EXPECT_EQ(u.path_and_query, "/debug/pprof/heap?gc=1");
    EXPECT_EQ(parse_url("http://[::1]:80").path_and_query, "/");
    EXPECT_TRUE(is_url("https://x/y"));
    EXPECT_FALSE(is_url("heap.pb.gz"));
    EXPECT_THROW(parse_url("ftp://x/y"), util::Error);
    EXPECT_THROW(parse_url("http://:80/x"), util::Error);
    EXPECT_THROW(parse_url("http://host:99999/x"), util::Error);
    EXPECT_THROW(parse_url("http://host:/x"), util::Error);
}

TEST(FetchUrl, ConnectionRefusedNamesTheUrl) {
    // Port 1 on loopback: nothing listens there in a test environment.
    try {
        fetch_url("http://127.0.0.1:1/debug/pprof/heap");
        FAIL() << "fetch succeeded";
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot fetch http://127.0.0.1:1/debug/pprof/heap"),
                  std::string::npos)
            << e.what();
    }
}

TEST(FetchUrl, SilentServerTimesOut) {
    // A listening socket that never answers: the kernel completes the connection from the
    // backlog, and the read times out.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::listen(fd, 4), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const std::string url =
        "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/debug/pprof/heap";
    FetchOptions options;
    options.read_timeout = std::chrono::milliseconds(300);
    std::string error;
    try {
        fetch_url(url, options);
    } catch (const util::Error& e) {
        error = e.what();
    }
    ::close(fd);
    EXPECT_NE(error.find("cannot fetch " + url), std::string::npos) << error;
    EXPECT_NE(error.find("did not answer within 0.3 s"), std::string::npos) << error;
}

}  // namespace leakhunt::profile
