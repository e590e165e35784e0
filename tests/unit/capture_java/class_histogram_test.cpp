#include "capture/java/class_histogram.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "profile/pprof.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::capture::java {
namespace {

TEST(JavaClassName, SpellsArraysAsJavaDoes) {
    EXPECT_EQ(java_class_name("[B (java.base@17.0.15)"), "byte[]");
    EXPECT_EQ(java_class_name("[I"), "int[]");
    EXPECT_EQ(java_class_name("[[J"), "long[][]");
    EXPECT_EQ(java_class_name("[Z"), "boolean[]");
    EXPECT_EQ(java_class_name("[Ljava.lang.String; (java.base@17.0.15)"), "java.lang.String[]");
    EXPECT_EQ(java_class_name("[[Ljava.lang.invoke.LambdaForm$Name; (java.base@17.0.15)"),
              "java.lang.invoke.LambdaForm$Name[][]");
    EXPECT_EQ(java_class_name("com.example.Session"), "com.example.Session");
    EXPECT_EQ(java_class_name("java.util.HashMap$Node (java.base@17.0.15)"),
              "java.util.HashMap$Node");
}

TEST(JavaClassName, KeepsWhatItDoesNotKnow) {
    EXPECT_EQ(java_class_name("[Q"), "[Q");
    EXPECT_EQ(java_class_name("[L;"), "[L;");
    EXPECT_EQ(java_class_name("["), "[");
    EXPECT_EQ(java_class_name("Foo$$Lambda$14/0x0000000800c03000"),
              "Foo$$Lambda$14/0x0000000800c03000");
    // A parenthesis that is not a module suffix stays.
    EXPECT_EQ(java_class_name("(weird)"), "(weird)");
}

TEST(JavaClassModule, IsTheSuffixOrNothing) {
    EXPECT_EQ(java_class_module("[B (java.base@17.0.15)"), "java.base@17.0.15");
    EXPECT_EQ(java_class_module("com.example.Session"), "");
}

TEST(ParseClassHistogram, ReadsWhatJcmdPrinted) {
    const std::string text = util::read_file(LEAKHUNT_TEST_DATA "/java/class_histogram.txt");
    const ClassHistogram h = parse_class_histogram(text);
    ASSERT_EQ(h.classes.size(), 247u);
    EXPECT_EQ(h.total_instances, 26925);
    EXPECT_EQ(h.total_bytes, 1209136);
    // The rows add up to the JVM's own Total line.
    int64_t instances = 0, bytes = 0;
    for (const auto& c : h.classes) {
        instances += c.instances;
        bytes += c.bytes;
    }
    EXPECT_EQ(instances, h.total_instances);
    EXPECT_EQ(bytes, h.total_bytes);
    EXPECT_EQ(h.classes[0].name, "byte[]");
    EXPECT_EQ(h.classes[0].module, "java.base@17.0.15");
    EXPECT_EQ(h.classes[0].instances, 7781);
    EXPECT_EQ(h.classes[0].bytes, 367536);
    EXPECT_EQ(h.classes[13].name, "com.example.Healthy$Entry");
    EXPECT_EQ(h.classes[13].module, "");
    EXPECT_EQ(h.classes[13].instances, 500);
    EXPECT_EQ(h.classes[13].bytes, 12000);
}

TEST(ParseClassHistogram, SaysWhichLineIsWrong) {
    const std::string head =
        " num     #instances         #bytes  class name (module)\n"
        "-------------------------------------------------------\n";
    try {
        (void)parse_class_histogram(head + "   1:          12   x  [B\nTotal 12 96\n");
        FAIL() << "accepted a bad byte count";
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)parse_class_histogram(head + "   1:  1  16\nTotal 1 16\n"), util::Error);
    EXPECT_THROW((void)parse_class_histogram(head + "   1:  1  16  Foo\n"),
                 util::Error);  // no Total
    EXPECT_THROW(
        (void)parse_class_histogram("4242:\ncom.sun.tools.attach.AttachNotSupportedException"),
        util::Error);
    EXPECT_THROW(
        (void)parse_class_histogram(head + "   1:  99999999999999999999  16  Foo\nTotal 1 1\n"),
        util::Error);
}

TEST(ParseClassHistogram, KeepsAtMostTheBoundAndTheTotals) {
    std::string text = " num     #instances         #bytes  class name (module)\n";
    const size_t n = k_max_classes + 3;
    for (size_t i = 0; i < n; ++i)
        text += "   " + std::to_string(i + 1) + ":  2  32  C" + std::to_string(i) + "\n";
    text += "Total " + std::to_string(2 * n) + " " + std::to_string(32 * n) + "\n";
    const ClassHistogram h = parse_class_histogram(text);
    ASSERT_EQ(h.classes.size(), k_max_classes + 1);
    EXPECT_EQ(h.classes.back().name, "(other classes)");
    EXPECT_EQ(h.classes.back().instances, 6);
    EXPECT_EQ(h.classes.back().bytes, 96);
}

TEST(HistogramProfile, OneSamplePerClassNamedByTheClass) {
    ClassHistogram h;
    h.classes = {{"byte[]", "java.base@17.0.15", 10, 480},
                 {"com.example.Session", "", 3, 96},
                 {"java.lang.String", "java.base@17.0.15", 4, 96}};
    const profile::Profile p = histogram_profile(h, 5'000'000'000);
    // Through the encoder and back: what `top` and `suspects` will read.
    const profile::Profile back =
        profile::parse_profile(profile::serialize_profile(p), "histogram");
    ASSERT_EQ(back.samples.size(), 3u);
    EXPECT_EQ(back.time_nanos, 5'000'000'000);
    ASSERT_EQ(back.mappings.size(), 2u);
    EXPECT_EQ(back.mappings[0].filename, "[jvm class] java.base@17.0.15");
    EXPECT_EQ(back.mappings[1].filename, "[jvm class]");
    for (size_t i = 0; i < 3; ++i) {
        const auto& s = back.samples[i];
        ASSERT_EQ(s.location_ids.size(), 1u);
        const auto* loc = profile::find_location(back, s.location_ids[0]);
        ASSERT_NE(loc, nullptr);
        ASSERT_EQ(loc->lines.size(), 1u);
        const auto* f = profile::find_function(back, loc->lines[0].function_id);
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(f->name, h.classes[i].name);
        EXPECT_EQ(
            profile::is_java_class_mapping(profile::find_mapping(back, loc->mapping_id)->filename),
            true);
        const std::vector<int64_t> want{h.classes[i].instances, h.classes[i].bytes,
                                        h.classes[i].instances, h.classes[i].bytes};
        EXPECT_EQ(s.values, want);
    }
}

TEST(JavaClassMapping, NamesAndModules) {
    EXPECT_EQ(profile::java_class_mapping("java.base@17"), "[jvm class] java.base@17");
    EXPECT_EQ(profile::java_class_mapping(""), "[jvm class]");
    EXPECT_TRUE(profile::is_java_class_mapping("[jvm class]"));
    EXPECT_FALSE(profile::is_java_class_mapping("[jvm classy]"));
    EXPECT_FALSE(profile::is_java_class_mapping("/usr/lib/libjvm.so"));
    EXPECT_EQ(profile::java_class_mapping_module("[jvm class] java.base@17"), "java.base@17");
    EXPECT_EQ(profile::java_class_mapping_module("[jvm class]"), "");
}

}  // namespace
}  // namespace leakhunt::capture::java
