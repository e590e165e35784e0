// How a python command line gets the bootstrap in front of its program.
#include "capture/python/launch.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

namespace leakhunt::capture::python {
namespace {

using V = std::vector<std::string>;

V with_boot(V before, V program) {
    V out = std::move(before);
    for (const char* s : {"/lib/boot.py", "--ctl", "/tmp/c", "--depth", "8", "--"})
        out.push_back(s);
    out.insert(out.end(), program.begin(), program.end());
    return out;
}

V cmd(const V& argv) {
    return bootstrap_command(argv, "/lib/boot.py", "/tmp/c", 8);
}

TEST(BootstrapCommand, ScriptModuleCommandAndStdin) {
    EXPECT_EQ(cmd({"python3", "app.py", "-m", "x"}), with_boot({"python3"}, {"app.py", "-m", "x"}));
    EXPECT_EQ(cmd({"python3", "-m", "http.server", "80"}),
              with_boot({"python3"}, {"-m", "http.server", "80"}));
    EXPECT_EQ(cmd({"python3", "-c", "print(1)", "a"}),
              with_boot({"python3"}, {"-c", "print(1)", "a"}));
    EXPECT_EQ(cmd({"python3", "-", "a"}), with_boot({"python3"}, {"-", "a"}));
}

TEST(BootstrapCommand, InterpreterOptionsStayInFront) {
    EXPECT_EQ(cmd({"python3", "-u", "-X", "dev", "-Wdefault", "app.py"}),
              with_boot({"python3", "-u", "-X", "dev", "-W", "default"}, {"app.py"}));
    EXPECT_EQ(cmd({"python3", "-uBc", "pass"}), with_boot({"python3", "-uB"}, {"-c", "pass"}));
    EXPECT_EQ(cmd({"python3", "-Om", "mod"}), with_boot({"python3", "-O"}, {"-m", "mod"}));
    EXPECT_EQ(cmd({"python3", "--check-hash-based-pycs", "never", "--", "-app.py"}),
              with_boot({"python3", "--check-hash-based-pycs", "never"}, {"-app.py"}));
    EXPECT_EQ(cmd({"env", "A=1", "python3", "app.py"}),
              with_boot({"env", "A=1", "python3"}, {"app.py"}));
}

TEST(BootstrapCommand, RefusesWhatRunsNoProgram) {
    EXPECT_THROW(cmd({"python3"}), util::UsageError);
    EXPECT_THROW(cmd({"python3", "-i"}), util::UsageError);
    EXPECT_THROW(cmd({"python3", "-V"}), util::UsageError);
    EXPECT_THROW(cmd({"python3", "--version"}), util::UsageError);
    EXPECT_THROW(cmd({"python3", "-x", "app.py"}), util::UsageError);
    EXPECT_THROW(cmd({"python3", "-c"}), util::UsageError);
}

}  // namespace
}  // namespace leakhunt::capture::python
