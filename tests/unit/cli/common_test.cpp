// Tests for what the subcommands share: the PID option parser, the stop signals, and which
// programs `record` treats as wrappers (the agent is kept across their exec).
#include "cli/common.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli/agent_files.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::cli {
namespace {

std::string usage_error_of(std::string_view option, std::string_view value) {
    try {
        parse_pid_option(option, value);
    } catch (const util::UsageError& e) {
        return e.what();
    }
    return "";
}

TEST(ParsePidOption, AcceptsPids) {
    EXPECT_EQ(parse_pid_option("", "1"), 1);
    EXPECT_EQ(parse_pid_option("--pid", "4242"), 4242);
}

TEST(ParsePidOption, NamesTheOptionAndTheRange) {
    EXPECT_EQ(usage_error_of("", "4294967297"),
              "'4294967297' is not a PID (a PID is a whole number from 1 to 4194304)");
    EXPECT_EQ(usage_error_of("--pid", "-1"),
              "--pid '-1' is not a PID (a PID is a whole number from 1 to 4194304)");
    EXPECT_NE(usage_error_of("", "99999999999999999999"), "");
    EXPECT_NE(usage_error_of("", "12abc"), "");
}

TEST(StopSignals, AreIntTermAndHup) {
    const sigset_t set = stop_signals();
    EXPECT_EQ(sigismember(&set, SIGINT), 1);
    EXPECT_EQ(sigismember(&set, SIGTERM), 1);
    EXPECT_EQ(sigismember(&set, SIGHUP), 1);
    EXPECT_EQ(sigismember(&set, SIGQUIT), 0);
    EXPECT_STREQ(stop_signal_text(SIGHUP), "hung up");
    EXPECT_STREQ(stop_signal_text(SIGINT), "interrupted");
    EXPECT_STREQ(stop_signal_text(SIGTERM), "terminated");
}

TEST(IsWrapper, ShellsAndExecWrappersByName) {
    for (const char* w : {"sh", "bash", "/bin/dash", "env", "/usr/bin/nice", "timeout", "nohup",
                          "stdbuf", "setsid", "taskset"}) {
        EXPECT_TRUE(is_wrapper(w)) << w;
    }
    for (const char* p : {"redis-server", "./server", "/usr/bin/python3", "bashful"}) {
        EXPECT_FALSE(is_wrapper(p)) << p;
    }
}

TEST(IsWrapper, ScriptsRunByAShellOrEnv) {
    namespace fs = std::filesystem;
    const fs::path dir =
        fs::temp_directory_path() / ("leakhunt_cli_test." + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto script = [&](const std::string& name, const std::string& text) {
        const fs::path p = dir / name;
        util::write_file_atomic(p, text);
        ::chmod(p.c_str(), 0755);
        return p.string();
    };
    EXPECT_TRUE(is_wrapper(script("start.sh", "#!/bin/sh\nexec ./server\n")));
    EXPECT_TRUE(is_wrapper(script("run", "#! /usr/bin/env python3\nimport os\n")));
    EXPECT_FALSE(is_wrapper(script("tool.py", "#!/usr/bin/python3\nprint(1)\n")));
    EXPECT_FALSE(is_wrapper(script("data",
                                   "\x7f"
                                   "ELF\x02\x01\x01")));
    EXPECT_FALSE(is_wrapper((dir / "missing").string()));
    fs::remove_all(dir);
}

}  // namespace
}  // namespace leakhunt::cli
