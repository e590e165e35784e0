// Tests for the watch engine on real processes: a child the test starts, sampled by Watcher and
// by the loop, with /proc read independently as the oracle.
#include "watch/watcher.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proc/child_process.hpp"
#include "util/error.hpp"
#include "watch/watch_loop.hpp"

namespace leakhunt::watch {
namespace {

// RSS of `pid` from /proc/PID/statm (resident pages), read apart from the sampler.
double statm_rss(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
    double size = 0, resident = 0;
    in >> size >> resident;
    return resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

// Waits (up to 5 s) until `pid` runs `comm` and its RSS has stopped moving: a process just
// spawned is still being loaded (exec, the dynamic loader mapping its libraries).
void wait_settled(pid_t pid, const std::string& comm) {
    double last = -1;
    for (int i = 0; i < 250; ++i) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
        std::string name;
        std::getline(in, name);
        const double now = statm_rss(pid);
        if (name == comm && now == last) return;
        last = name == comm ? now : -1;
        ::usleep(20000);
    }
}

WatchConfig quiet_config() {
    WatchConfig c;  // no database, no CSV
    c.smaps = false;
    return c;
}

TEST(Watcher, SamplesAPidAndWritesOneJsonLinePerSample) {
    proc::ChildProcess sleeper = proc::ChildProcess::spawn({"sleep", "30"});
    wait_settled(sleeper.pid(), "sleep");
    std::vector<std::string> lines;
    WatchConfig config = quiet_config();
    config.json_line = [&](const std::string& line) { lines.push_back(line); };
    Watcher w(config, {{TargetSpec::Kind::pid, sleeper.pid(), {}}});
    for (int i = 0; i < 3; ++i) w.tick(w.now());
    ASSERT_EQ(w.targets().size(), 1u);
    const TargetState& t = w.targets().front();
    EXPECT_EQ(t.key, "pid:" + std::to_string(sleeper.pid()));
    EXPECT_EQ(t.display, "sleep (" + std::to_string(sleeper.pid()) + ")");
    EXPECT_EQ(t.status, "running");
    ASSERT_EQ(t.series.size(), 3u);
    const auto& rss = t.series.columns.at("rss_bytes");
    EXPECT_DOUBLE_EQ(rss.back(), statm_rss(sleeper.pid()));  // sleep's RSS does not move
    ASSERT_EQ(lines.size(), 3u);
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto j = nlohmann::json::parse(lines[i]);
        EXPECT_EQ(j.at("target"), t.display);
        EXPECT_EQ(j.at("pid"), sleeper.pid());
        EXPECT_DOUBLE_EQ(j.at("rss_bytes").get<double>(), rss[i]);
        EXPECT_DOUBLE_EQ(j.at("t").get<double>(), t.series.t[i] + w.t0());
        EXPECT_FALSE(j.contains("pss_bytes"));  // smaps off: no value, no key
    }
    EXPECT_FALSE(w.all_ended());
}

TEST(Watcher, APidThatExitsEndsItsTarget) {
    proc::ChildProcess sleeper = proc::ChildProcess::spawn({"sleep", "30"});
    Watcher w(quiet_config(), {{TargetSpec::Kind::pid, sleeper.pid(), {}}});
    w.tick(w.now());
    (void)w.take_notices();
    sleeper.stop(1.0);
    w.tick(w.now());
    EXPECT_TRUE(w.all_ended());
    EXPECT_EQ(w.targets().front().status, "exited");
    const auto notices = w.take_notices();
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_EQ(notices[0], w.targets().front().display + ": exited after 1 samples");
}

TEST(Watcher, RejectsAMissingPidAndABadRegex) {
    proc::ChildProcess gone = proc::ChildProcess::spawn({"true"});
    gone.wait();
    const pid_t pid = gone.pid();
    try {
        Watcher w(quiet_config(), {{TargetSpec::Kind::pid, pid, {}}});
        FAIL() << "no error for a pid that has exited";
    } catch (const util::Error& e) {
        EXPECT_EQ(std::string(e.what()), "no process with pid " + std::to_string(pid) +
                                             " (check the pid with `ps -p " + std::to_string(pid) +
                                             "`)");
    }
    EXPECT_THROW(Watcher(quiet_config(), {{TargetSpec::Kind::name, 0, "(unclosed"}}),
                 util::UsageError);
}

TEST(Watcher, ANameWithNoMatchWaitsAndSaysSoOnce) {
    Watcher w(quiet_config(), {{TargetSpec::Kind::name, 0, "^leakhunt-test-no-such-program$"}});
    w.tick(w.now());
    w.tick(w.now());
    EXPECT_EQ(w.take_notices(),
              std::vector<std::string>{
                  "^leakhunt-test-no-such-program$: no process matches yet; waiting for one"});
    EXPECT_EQ(w.targets().front().status, "waiting for a match");
    EXPECT_EQ(w.targets().front().series.size(), 0u);
    EXPECT_FALSE(w.all_ended());
}

TEST(RunLoop, StopsAtTheDurationOrWhenTheCallerSaysStop) {
    proc::ChildProcess sleeper = proc::ChildProcess::spawn({"sleep", "30"});
    Watcher w(quiet_config(), {{TargetSpec::Kind::pid, sleeper.pid(), {}}});
    LoopOptions loop;
    loop.interval_s = 0.02;
    loop.duration_s = 0.1;
    size_t shown = 0;
    loop.on_tick = [&](double) { ++shown; };
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(run_loop(w, loop), LoopEnd::duration);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(took, 0.1 - 1e-6);
    EXPECT_LT(took, 5.0);
    // Ticks at 0, 20, ... 100 ms at most (the last at the duration itself); fewer when the
    // machine is slow, since a loop that falls behind does not burst to catch up.
    EXPECT_GE(w.ticks(), 2u);
    EXPECT_LE(w.ticks(), 6u);
    EXPECT_EQ(shown, w.ticks());
    EXPECT_EQ(w.targets().front().series.size(), w.ticks());

    LoopOptions stop;
    stop.interval_s = 0.01;
    size_t asked = 0;
    stop.keep_going = [&](double) { return ++asked < 3; };
    EXPECT_EQ(run_loop(w, stop), LoopEnd::stopped);
    EXPECT_EQ(asked, 3u);
}

TEST(RunLoop, EndsWithTheCommandAndSaysHowItEnded) {
    proc::ChildProcess child = proc::ChildProcess::spawn({"sh", "-c", "sleep 0.2; exit 4"});
    Watcher w(quiet_config(), {{TargetSpec::Kind::command, child.pid(), {}}});
    LoopOptions loop;
    loop.interval_s = 0.02;
    loop.duration_s = 20;
    loop.command = &child;
    EXPECT_EQ(run_loop(w, loop), LoopEnd::targets_ended);
    EXPECT_EQ(w.targets().front().status, "exited with code 4");
    EXPECT_GT(w.targets().front().series.size(), 0u);
}

TEST(RunLoop, AStopSignalEndsItBetweenTicks) {
    proc::ChildProcess sleeper = proc::ChildProcess::spawn({"sleep", "30"});
    Watcher w(quiet_config(), {{TargetSpec::Kind::pid, sleeper.pid(), {}}});
    LoopOptions loop;
    loop.interval_s = 0.05;
    loop.duration_s = 20;
    sigemptyset(&loop.stop_signals);
    sigaddset(&loop.stop_signals, SIGUSR1);
    loop.keep_going = [](double) {
        ::raise(SIGUSR1);  // blocked while the loop runs: it waits for it, it is not delivered
        return true;
    };
    EXPECT_EQ(run_loop(w, loop), LoopEnd::interrupted);
    EXPECT_EQ(w.ticks(), 1u);
}

}  // namespace
}  // namespace leakhunt::watch
