// The Watcher: targets, sampling, outputs and live verdicts for `watch` and `soak`.
#include "watch/watcher.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proc/process_list.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/units.hpp"

namespace leakhunt::watch {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
// Above this many targets, most samples are light (see Watcher::tick).
constexpr size_t k_light_above_targets = 50;
constexpr size_t k_full_every = 10;
// Seconds between database transactions.
constexpr double k_store_flush_s = 5.0;
// Up to this many targets, PSS and USS are read by default.
constexpr size_t k_smaps_auto_targets = 20;

double opt(const std::optional<std::uint64_t>& v) {
    return v ? static_cast<double>(*v) : k_nan;
}

// A store row from the values of one sample, aligned with watch_columns().
series::SampleRow sample_row(int64_t instance, double now, const std::vector<double>& v) {
    auto at = [&](size_t i) -> std::optional<int64_t> {
        if (!std::isfinite(v[i])) return std::nullopt;
        return static_cast<int64_t>(v[i]);
    };
    series::SampleRow r;
    r.instance_id = instance;
    r.t = now;
    r.rss = at(0);
    r.rss_anon = at(1);
    r.rss_file = at(2);
    r.rss_shmem = at(3);
    r.pss = at(4);
    r.uss = at(5);
    r.swap = at(6);
    r.vm_hwm = at(7);
    r.fds = at(8);
    r.threads = at(9);
    r.cgroup_usage = at(10);
    r.cgroup_working_set = at(11);
    r.cgroup_limit = at(12);
    r.cgroup_oom_kills = at(13);
    return r;
}

// Our own pid and every ancestor's: the shell that started `leakhunt watch --name x` has "x" in
// its command line too, and must not be followed.
std::set<pid_t> self_and_ancestors() {
    std::set<pid_t> out;
    pid_t p = ::getpid();
    for (int depth = 0; p > 1 && depth < 64; ++depth) {
        out.insert(p);
        FILE* f = std::fopen(fmt::format("/proc/{}/stat", p).c_str(), "r");
        if (f == nullptr) break;
        char buf[1024];
        size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = '\0';
        const char* close = std::strrchr(buf, ')');
        int ppid = 0;
        char state = 0;
        if (close == nullptr || std::sscanf(close + 1, " %c %d", &state, &ppid) != 2) break;
        p = ppid;
    }
    return out;
}

}  // namespace

const std::vector<std::string>& watch_columns() {
    static const std::vector<std::string> cols = {"rss_bytes",
                                                  "anon_bytes",
                                                  "rss_file_bytes",
                                                  "rss_shmem_bytes",
                                                  "pss_bytes",
                                                  "uss_bytes",
                                                  "swap_bytes",
                                                  "vm_hwm_bytes",
                                                  "fds",
                                                  "threads",
                                                  "cgroup_usage_bytes",
                                                  "cgroup_working_set_bytes",
                                                  "cgroup_limit_bytes",
                                                  "cgroup_oom_kills"};
    return cols;
}

Watcher::Watcher(WatchConfig config, std::vector<TargetSpec> targets)
    : m_config(std::move(config)),
      m_sampler([&] {
          proc::SamplerOptions o;
          const bool smaps = m_config.smaps.value_or(targets.size() <= k_smaps_auto_targets);
          o.smaps = smaps ? proc::ReadSmaps::yes : proc::ReadSmaps::no;
          o.cgroup = targets.size() <= 50 ? proc::ReadCgroup::yes : proc::ReadCgroup::no;
          return o;
      }()),
      m_t0(util::unix_now()) {
    if (m_config.db) m_store = std::make_unique<series::Store>(*m_config.db);
    if (m_config.csv) m_csv = std::make_unique<series::CsvAppender>(*m_config.csv, watch_columns());
    for (auto& spec : targets) {
        TargetState t;
        t.spec = spec;
        switch (spec.kind) {
            case TargetSpec::Kind::pid:
            case TargetSpec::Kind::command:
                t.key = fmt::format("pid:{}", spec.pid);
                t.display = fmt::format("pid {}", spec.pid);
                break;
            case TargetSpec::Kind::name:
                try {
                    t.regex.emplace(spec.pattern, std::regex::extended);
                } catch (const std::regex_error& e) {
                    throw util::UsageError("--name '{}': not a valid regular expression ({})",
                                           spec.pattern, e.what());
                }
                t.key = "name:" + spec.pattern;
                t.display = spec.pattern;
                t.status = "waiting for a match";
                break;
            case TargetSpec::Kind::cgroup:
                t.cgroup_dir = m_cgroups.resolve(spec.pattern);
                t.key = "cgroup:" + t.cgroup_dir.string();
                t.display = t.cgroup_dir.filename().string();
                t.status = "running";
                break;
        }
        t.series.name = t.display;
        for (const auto& c : watch_columns()) t.series.columns[c];
        t.series.epoch_offset = m_t0;
        if (m_store) {
            t.store_target = m_store->get_or_create_target(t.key, t.display);
            // Resume: a watch of the same target continues its series.
            if (spec.kind == TargetSpec::Kind::name || spec.kind == TargetSpec::Kind::cgroup) {
                series::Series old = m_store->load_series(t.store_target);
                const double shift = old.epoch_offset.value_or(m_t0) - m_t0;
                for (size_t i = 0; i < old.t.size(); ++i) {
                    t.series.t.push_back(old.t[i] + shift);
                    for (const auto& c : watch_columns()) {
                        const auto* col = old.column(c);
                        t.series.columns[c].push_back(col != nullptr ? (*col)[i] : k_nan);
                    }
                }
                for (double r : old.restart_times) t.series.restart_times.push_back(r + shift);
                if (!old.t.empty()) {
                    notice(
                        fmt::format("{}: resuming its series from {} ({} samples already recorded)",
                                    t.display, m_store->path().string(), old.t.size()));
                    // A gap in the watch is not a restart; a different process at the first
                    // match is (find_name_matches).
                    if (spec.kind == TargetSpec::Kind::name)
                        t.previous = stored_instance(t.store_target);
                }
            }
        }
        m_targets.push_back(std::move(t));
    }
    for (auto& t : m_targets) {
        if (t.spec.kind == TargetSpec::Kind::pid || t.spec.kind == TargetSpec::Kind::command) {
            auto s = m_sampler.sample(t.spec.pid);
            if (!s) {
                if (t.spec.kind == TargetSpec::Kind::pid) {
                    throw util::Error("no process with pid {} (check the pid with `ps -p {}`)",
                                      t.spec.pid, t.spec.pid);
                }
                t.ended = true;
                t.status = "exited";
                continue;
            }
            std::string cmdline;
            if (auto c = util::try_read_file(fmt::format("/proc/{}/cmdline", t.spec.pid))) {
                cmdline = *c;
                std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
                while (!cmdline.empty() && cmdline.back() == ' ') cmdline.pop_back();
            }
            if (!cmdline.empty()) {
                std::string first = cmdline.substr(0, cmdline.find(' '));
                t.display = fmt::format("{} ({})", first.substr(first.rfind('/') + 1), t.spec.pid);
                t.series.name = t.display;
            }
            attach(t, t.spec.pid, s->starttime, cmdline, m_t0);
        }
    }
}

Watcher::~Watcher() {
    try {
        flush_store(now());
    } catch (const util::Error&) {
        // Destructors don't throw; finish() reports store errors.
    }
}

double Watcher::now() const {
    return m_t0 +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - m_steady0).count();
}

std::optional<TargetState::Instance> Watcher::stored_instance(int64_t store_target) {
    if (!m_stored_targets) m_stored_targets = m_store->list_targets();
    for (const auto& info : *m_stored_targets) {
        if (info.id == store_target && info.last_pid) {
            return TargetState::Instance{static_cast<pid_t>(*info.last_pid),
                                         static_cast<std::uint64_t>(info.last_starttime),
                                         info.running};
        }
    }
    return std::nullopt;
}

void Watcher::notice(std::string text) {
    m_notices.push_back(std::move(text));
}

std::vector<std::string> Watcher::take_notices() {
    return std::exchange(m_notices, {});
}

void Watcher::attach(TargetState& t, pid_t pid, std::uint64_t starttime, const std::string& cmdline,
                     double now) {
    t.pid = pid;
    t.starttime = starttime;
    t.previous = TargetState::Instance{pid, starttime, true};
    t.status = "running";
    t.smaps_warned = false;
    if (m_store) {
        t.store_instance = m_store->start_instance(t.store_target, pid,
                                                   static_cast<int64_t>(starttime), cmdline, now);
    }
}

void Watcher::detach(TargetState& t, double now, const std::string& why) {
    if (m_store && t.store_instance != 0) {
        m_store->end_instance(t.store_instance, now);
        m_store->add_event(t.store_target, now, series::EventKind::exit, why);
    }
    t.store_instance = 0;
    t.pid = 0;
    if (t.previous) t.previous->open = false;
}

void Watcher::command_ended(const std::string& how) {
    for (auto& t : m_targets) {
        // Also when sampling already saw it gone (a program that ends at once): its exit status
        // is said once, here.
        if (t.spec.kind == TargetSpec::Kind::command && t.status != how) {
            if (!t.ended) detach(t, now(), how);
            t.ended = true;
            t.status = how;
            notice(fmt::format("{}: the command {}", t.display, how));
        }
    }
}

void Watcher::find_name_matches(double now) {
    bool wanted = false;
    for (const auto& t : m_targets) wanted = wanted || (t.regex && t.pid == 0);
    if (!wanted) return;
    const auto procs = proc::list_processes();
    const auto exclude = self_and_ancestors();
    for (auto& t : m_targets) {
        if (!t.regex || t.pid != 0) continue;
        const proc::ProcessInfo* best = nullptr;
        size_t matches = 0;
        for (const auto& p : procs) {
            if (p.kernel_thread || exclude.count(p.pid) != 0) continue;
            if (!std::regex_search(p.display(), *t.regex)) continue;
            ++matches;
            if (best == nullptr || p.starttime < best->starttime) best = &p;
        }
        if (best == nullptr) {
            // Said once, so that a regex that matches nothing is not a silent 0 samples.
            if (t.series.t.empty() && !t.no_match_said) {
                t.no_match_said = true;
                notice(fmt::format("{}: no process matches yet; waiting for one", t.display));
            }
            continue;
        }
        if (matches > 1) {
            notice(
                fmt::format("{}: {} processes match; following the oldest, pid {} ({}); use a "
                            "tighter --name or list PIDs to watch each",
                            t.display, matches, best->pid, best->display()));
        }
        const bool same = t.previous && t.previous->open && t.previous->pid == best->pid &&
                          t.previous->starttime == best->starttime;
        const bool restart = t.previous && !same;
        if (restart) {
            ++t.restarts;
            t.series.restart_times.push_back(now - m_t0);
            if (m_store)
                m_store->add_event(t.store_target, now, series::EventKind::restart,
                                   fmt::format("pid {}", best->pid));
            notice(fmt::format("{}: restarted as pid {}", t.display, best->pid));
        } else {
            notice(fmt::format("{}: following pid {} ({})", t.display, best->pid, best->display()));
        }
        attach(t, best->pid, best->starttime, best->display(), now);
    }
}

void Watcher::record(TargetState& t, double now, const proc::MemorySample* s,
                     const proc::CgroupMemory* cg, std::vector<series::SampleRow>& rows) {
    std::vector<double> values;
    if (s != nullptr) {
        values = {opt(s->rss),          opt(s->rss_anon),
                  opt(s->rss_file),     opt(s->rss_shmem),
                  opt(s->pss),          opt(s->uss),
                  opt(s->swap),         opt(s->vm_hwm),
                  opt(s->fds),          opt(s->threads),
                  opt(s->cgroup_usage), opt(s->cgroup_working_set),
                  opt(s->cgroup_limit), opt(s->cgroup_oom_kills)};
    } else {
        // A cgroup: its working set is what grows towards the limit and what OOM kills act on.
        const double ws = opt(cg->working_set ? cg->working_set : cg->usage);
        values = {ws,
                  opt(cg->anon),
                  opt(cg->file),
                  k_nan,
                  k_nan,
                  k_nan,
                  opt(cg->swap),
                  k_nan,
                  k_nan,
                  k_nan,
                  opt(cg->usage),
                  opt(cg->working_set),
                  opt(cg->limit),
                  opt(cg->oom_kills)};
    }
    const auto& cols = watch_columns();
    t.series.t.push_back(now - m_t0);
    for (size_t i = 0; i < cols.size(); ++i) t.series.columns[cols[i]].push_back(values[i]);

    if (m_store && t.store_instance != 0) rows.push_back(sample_row(t.store_instance, now, values));
    if (m_csv) {
        m_csv->append({series::CsvAppender::Row{now, t.display, t.pid, values}});
    }
    if (m_config.json_line) {
        nlohmann::json j;
        j["t"] = now;
        j["target"] = t.display;
        if (t.pid != 0) j["pid"] = t.pid;
        for (size_t i = 0; i < cols.size(); ++i) {
            if (std::isfinite(values[i])) j[cols[i]] = values[i];
        }
        j["verdict"] = std::string(trend::to_string(t.live.verdict));
        j["growth_bytes_per_hour"] = std::round(t.live.growth_bytes_per_hour);
        m_config.json_line(j.dump());
    }
}

void Watcher::sample_process(TargetState& t, double now, std::vector<series::SampleRow>& rows,
                             proc::SampleDetail detail) {
    auto s = m_sampler.sample(t.pid, m_sampler.options().smaps, detail);
    if (!s || (t.starttime != 0 && s->starttime != 0 && s->starttime != t.starttime) ||
        s->state == 'Z') {
        const pid_t old = t.pid;
        detach(t, now, "exited");
        if (t.spec.kind == TargetSpec::Kind::name) {
            t.status = "waiting for a restart";
            notice(fmt::format("{}: pid {} exited; waiting for a new process to match", t.display,
                               old));
        } else if (t.spec.kind == TargetSpec::Kind::pid) {
            t.ended = true;
            t.status = "exited";
            notice(fmt::format("{}: exited after {} samples", t.display, t.series.size()));
        }
        return;
    }
    if (s->smaps_denied() && !t.smaps_warned) {
        t.smaps_warned = true;
        notice(proc::smaps_error_message("/proc", t.pid, s->smaps_errno));
    }
    record(t, now, &*s, nullptr, rows);
}

void Watcher::sample_cgroup(TargetState& t, double now, std::vector<series::SampleRow>& rows) {
    auto cg = m_cgroups.read(t.cgroup_dir);
    if (!cg) {
        t.ended = true;
        t.status = "cgroup removed";
        notice(fmt::format("{}: the cgroup {} is gone", t.display, t.cgroup_dir.string()));
        return;
    }
    if (t.store_instance == 0 && m_store) {
        t.store_instance =
            m_store->start_instance(t.store_target, 0, 0, t.cgroup_dir.string(), now);
    }
    record(t, now, nullptr, &*cg, rows);
}

void Watcher::tick(double now) {
    find_name_matches(now);
    std::vector<series::SampleRow> rows;
    // Hundreds of targets: a light sample (RSS, threads) each tick and a full one (RSS parts,
    // swap, fds, ...) every k_full_every ticks, staggered across targets.
    const bool many = m_targets.size() > k_light_above_targets;
    for (size_t i = 0; i < m_targets.size(); ++i) {
        TargetState& t = m_targets[i];
        if (t.ended) continue;
        if (t.spec.kind == TargetSpec::Kind::cgroup) {
            sample_cgroup(t, now, rows);
        } else if (t.pid != 0) {
            const bool light = many && (m_ticks + i) % k_full_every != 0;
            sample_process(t, now, rows,
                           light ? proc::SampleDetail::light : proc::SampleDetail::full);
        }
    }
    // One transaction every k_store_flush_s: a process's samples then share pages, which makes
    // the database's cost per sample several times smaller. A kill -9 loses at most that much.
    if (m_store) {
        m_pending.insert(m_pending.end(), rows.begin(), rows.end());
        if (now - m_last_flush >= k_store_flush_s) flush_store(now);
    }
    // Judge a share of the targets each tick, so that hundreds cost little.
    const size_t stride = std::clamp<size_t>(m_targets.size() / 8, 1, 30);
    for (size_t i = 0; i < m_targets.size(); ++i) {
        if ((m_ticks + i) % stride == 0) judge(m_targets[i], now);
    }
    std::erase_if(m_on_leak, [](proc::ChildProcess& c) { return !c.running(); });  // reaps
    ++m_ticks;
}

series::Series Watcher::judged_series(const TargetState& t) const {
    series::Series out;
    out.name = t.series.name;
    out.labels = t.series.labels;
    out.epoch_offset = t.series.epoch_offset;
    out.instances_known = true;  // followed by PID and start time
    for (const auto& [name, col] : t.series.columns) out.columns[name];
    for (size_t i = 0; i < t.series.t.size(); ++i) {
        if (t.series.t[i] < m_config.judge_from_s) continue;
        out.t.push_back(t.series.t[i]);
        for (const auto& [name, col] : t.series.columns) out.columns[name].push_back(col[i]);
    }
    for (double r : t.series.restart_times) {
        if (r >= m_config.judge_from_s) out.restart_times.push_back(r);
    }
    return out;
}

void Watcher::judge(TargetState& t, double now) {
    std::vector<double> ts, vs;
    const auto& rss = t.series.columns.at("rss_bytes");
    for (size_t i = 0; i < t.series.t.size(); ++i) {
        if (t.series.t[i] >= m_config.judge_from_s && std::isfinite(rss[i])) {
            ts.push_back(t.series.t[i]);
            vs.push_back(rss[i]);
        }
    }
    // watch follows each process by PID and start time: its restarts are all known.
    trend::Options engine = m_config.engine;
    engine.instances = trend::Options::Instances::known;
    t.live = trend::assess(ts, vs, engine, t.series.restart_times);
    // The live view, the JSON lines and --on-leak see the held verdict.
    const bool changed = t.hysteresis.apply(t.live);
    if (changed && t.live.verdict == trend::Verdict::leak) {
        if (!t.first_leak_at_s) t.first_leak_at_s = now - m_t0;
        if (m_store) {
            m_store->add_event(t.store_target, now, series::EventKind::leak,
                               fmt::format("{}", util::format_rate(t.live.growth_bytes_per_hour)));
        }
        notice(fmt::format("{}: LEAK {} after {} of watching", t.display,
                           util::format_rate(t.live.growth_bytes_per_hour),
                           util::format_duration(now - m_t0)));
        if (!m_config.on_leak.empty() && !t.on_leak_fired) {
            t.on_leak_fired = true;
            fire_on_leak(t);
        }
    }
}

void Watcher::fire_on_leak(const TargetState& t) {
    // The facts go into the environment, so the command needs no parsing.
    const auto& rss = t.series.columns.at("rss_bytes");
    std::string evidence;
    for (const auto& e : t.live.evidence) evidence += e + "\n";
    std::vector<std::string> env = {
        fmt::format("LEAKHUNT_TARGET={}", t.display),
        fmt::format("LEAKHUNT_KEY={}", t.key),
        fmt::format("LEAKHUNT_PID={}", t.pid),
        "LEAKHUNT_VERDICT=leak",
        fmt::format("LEAKHUNT_RSS_BYTES={:.0f}", rss.empty() ? 0.0 : rss.back()),
        fmt::format("LEAKHUNT_GROWTH_BYTES_PER_HOUR={:.0f}", t.live.growth_bytes_per_hour),
        fmt::format("LEAKHUNT_CONFIDENCE={:.3f}", t.live.confidence),
        fmt::format("LEAKHUNT_SAMPLES={}", t.live.samples),
        "LEAKHUNT_EVIDENCE=" + evidence};
    if (t.live.projected_limit_at_s) {
        env.push_back(
            fmt::format("LEAKHUNT_PROJECTED_LIMIT_AT={:.0f}", *t.live.projected_limit_at_s + m_t0));
    }
    try {
        m_on_leak.push_back(proc::ChildProcess::spawn_shell(m_config.on_leak, env));
        notice(
            fmt::format("{}: ran --on-leak command (pid {})", t.display, m_on_leak.back().pid()));
    } catch (const util::Error& e) {
        notice(fmt::format("--on-leak: {}", e.what()));
    }
}

void Watcher::flush_store(double now) {
    if (m_store && !m_pending.empty()) m_store->add_samples(m_pending);
    m_pending.clear();
    m_last_flush = now;
}

bool Watcher::all_ended() const {
    return std::all_of(m_targets.begin(), m_targets.end(),
                       [](const TargetState& t) { return t.ended; });
}

std::vector<trend::Classification> Watcher::finish() {
    flush_store(now());
    std::vector<trend::Classification> out;
    for (auto& t : m_targets) {
        trend::ClassifyOptions o;
        o.engine = m_config.engine;
        out.push_back(trend::classify(judged_series(t), o));
    }
    // Let --on-leak commands finish, so their work is not cut short by our exit.
    for (auto& c : m_on_leak) c.wait();
    m_on_leak.clear();
    return out;
}

}  // namespace leakhunt::watch
