// Tests for run_bounded and run_for_output: real commands, each bound hit on purpose.
#include "proc/child_process.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <string>

#include "util/error.hpp"

namespace leakhunt::proc {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

BoundedRun shell(const std::string& script, std::chrono::milliseconds timeout = 10s,
                 size_t max_output = 1 << 20) {
    BoundedRun run;
    run.argv = {"/bin/sh", "-c", script};
    run.timeout = timeout;
    run.max_output = max_output;
    return run;
}

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST(RunBounded, ReturnsStdoutAndStatus) {
    const RunResult ok = run_bounded(shell("printf 'one\\ntwo\\n'; echo ignored >&2"));
    EXPECT_TRUE(ok.ok());
    EXPECT_EQ(ok.output, "one\ntwo\n");
    const RunResult failed = run_bounded(shell("echo out; exit 3"));
    EXPECT_FALSE(failed.ok());
    EXPECT_FALSE(failed.timed_out);
    EXPECT_FALSE(failed.cut);
    ASSERT_TRUE(WIFEXITED(failed.status));
    EXPECT_EQ(WEXITSTATUS(failed.status), 3);
    EXPECT_EQ(failed.output, "out\n");
}

TEST(RunBounded, MergesStderrWhenAsked) {
    BoundedRun run = shell("echo a; echo b >&2; echo c");
    run.err = BoundedRun::Stderr::merge;
    EXPECT_EQ(run_bounded(run).output, "a\nb\nc\n");
}

TEST(RunBounded, KillsTheGroupAtTheTimeout) {
    const auto start = Clock::now();
    // The shell's child holds the pipe open too: the whole group must go for the read to end.
    const RunResult r = run_bounded(shell("echo started; sleep 30; echo never", 300ms));
    EXPECT_TRUE(r.timed_out);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.output, "started\n");
    EXPECT_LT(seconds_since(start), 5.0);
}

TEST(RunBounded, TimesOutACommandThatClosedItsOutput) {
    const auto start = Clock::now();
    const RunResult r = run_bounded(shell("exec >&-; sleep 30", 300ms));
    EXPECT_TRUE(r.timed_out);
    EXPECT_LT(seconds_since(start), 5.0);
}

TEST(RunBounded, CutsOutputAtTheBound) {
    const RunResult r = run_bounded(shell("yes 0123456789", 10s, 1000));
    EXPECT_TRUE(r.cut);
    EXPECT_FALSE(r.timed_out);
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(r.output.size(), 1000u);
    EXPECT_EQ(r.output.substr(0, 22), "0123456789\n0123456789\n");
}

TEST(RunBounded, DropsVariablesAndChangesDirectory) {
    ASSERT_EQ(::setenv("LEAKHUNT_TEST_DROPPED", "1", 1), 0);
    ASSERT_EQ(::setenv("LEAKHUNT_TEST_KEPT", "2", 1), 0);
    BoundedRun run = shell("echo ${LEAKHUNT_TEST_DROPPED-unset} ${LEAKHUNT_TEST_KEPT-unset}; pwd");
    run.drop_env = {"LEAKHUNT_TEST_DROPPED"};
    run.working_dir = "/";
    EXPECT_EQ(run_bounded(run).output, "unset 2\n/\n");
    ::unsetenv("LEAKHUNT_TEST_DROPPED");
    ::unsetenv("LEAKHUNT_TEST_KEPT");
}

TEST(RunBounded, AProgramThatCannotRunExits127) {
    BoundedRun run;
    run.argv = {"/nonexistent/leakhunt-test-program"};
    run.timeout = 10s;
    run.max_output = 4096;
    run.err = BoundedRun::Stderr::merge;
    const RunResult r = run_bounded(run);
    ASSERT_TRUE(WIFEXITED(r.status));
    EXPECT_EQ(WEXITSTATUS(r.status), 127);
    EXPECT_EQ(r.output, "cannot execute the program\n");
}

TEST(RunForOutput, OutputOrAnErrorNamingTheCommand) {
    EXPECT_EQ(run_for_output("echo 42", 10, 1024), "42\n");
    auto message = [](const std::string& command, double timeout_s, size_t max_bytes) {
        try {
            run_for_output(command, timeout_s, max_bytes);
        } catch (const util::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message("exit 3", 10, 1024), "the command 'exit 3' exited with code 3");
    EXPECT_EQ(message("sleep 30", 0.2, 1024), "the command 'sleep 30' ran longer than 0.2 s");
    EXPECT_EQ(message("yes", 10, 100), "the command 'yes' printed more than 100 bytes");
    EXPECT_EQ(message("kill -9 $$", 10, 100),
              "the command 'kill -9 $$' killed by signal 9 (SIGKILL)");
}

}  // namespace
}  // namespace leakhunt::proc
