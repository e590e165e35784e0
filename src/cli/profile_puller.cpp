// The pull loop: fetch, check, write the snapshot and the timeline (recorddir's writers, so the
// files are named and numbered as native recordings are, from 0000), sleep in
// sigtimedwait until the next tick so that SIGINT/SIGTERM/SIGHUP end it at once. When the URL
// points at this host (loopback) and the process listening on its port is visible in /proc, the
// snapshot id is that service's PID and its RSS goes into the timeline, as the agent writes for a
// native program; otherwise the id is this recorder's PID (a number no agent in the directory uses)
// and rss_bytes stays empty. manifest.json says runtime "go", capture "pprof-url". Beside a
// net/http/pprof heap endpoint (a URL ending in /heap) each pull also takes the goroutine profile
// (goroutine.<id>.NNNN.pb.gz, the heap snapshot's number) and runtime.MemStats (expvar's
// /debug/vars when the service serves it, else the heap?debug=1 text's block) into the timeline's
// Go columns (capture/go/memstats.hpp). Those are extras: an endpoint that is missing or fails is
// noted once (and again after it recovered and failed anew), never a failed pull.
#include "cli/profile_puller.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "capture/go/memstats.hpp"
#include "cli/common.hpp"
#include "proc/listeners.hpp"
#include "proc/proc_files.hpp"
#include "proc/system_info.hpp"
#include "profile/fetch.hpp"
#include "profile/goroutines.hpp"
#include "profile/gzip.hpp"
#include "profile/legacy_heap.hpp"
#include "profile/pprof.hpp"
#include "recorddir/record_dir.hpp"
#include "series/series.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

using Clock = std::chrono::steady_clock;

profile::InUse in_use(const profile::Profile& p, const std::string& url) {
    if (const auto t = profile::in_use_totals(p)) return *t;
    throw util::Error(
        "{} is not a heap profile: it has no inuse_space/inuse_objects sample "
        "types (point --pprof-url at /debug/pprof/heap)",
        url);
}

// The bytes to store: Go's gzip pprof as served, anything else re-encoded as gzip pprof.
std::string snapshot_bytes(const std::string& body, const profile::Profile& p) {
    if (profile::is_gzip(body)) {
        const std::string inflated = profile::gunzip(body, "reply");
        if (!profile::is_legacy_heap(inflated)) return body;
    }
    return profile::serialize_profile(p);
}

bool is_loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// The local process serving `url`, if it is on this host and visible to us.
std::optional<pid_t> local_service(const std::string& url) {
    const profile::Url u = profile::parse_url(url);
    if (!is_loopback(u.host)) return std::nullopt;
    return proc::find_listener(static_cast<std::uint16_t>(u.port));
}

// RSS of `pid`; NaN (an empty cell) when it cannot be read (the process ended, or is not on
// this host).
double rss_bytes(std::optional<pid_t> pid) {
    constexpr double k_unknown = std::numeric_limits<double>::quiet_NaN();
    if (!pid) return k_unknown;
    const auto rss = proc::read_resident_bytes(*pid);
    return rss ? static_cast<double>(*rss) : k_unknown;
}

// "leakhunt: note: <text>" on stderr, terminal-safe.
void note(const std::string& text) {
    std::fprintf(stderr, "leakhunt: note: %s\n", util::terminal_safe(text).c_str());
}

// One optional endpoint beside the heap profile: says once when it fails, and once when it works
// again, so a missing endpoint is one line, not one per pull.
class Extra {
  public:
    explicit Extra(std::string what) : m_what(std::move(what)) {}
    void failed(const std::string& why) {
        if (!m_failing) note(fmt::format("no {}: {} (the pull goes on without it)", m_what, why));
        m_failing = true;
    }
    void worked() {
        if (m_failing && m_said_ok) note(fmt::format("{} pulled again", m_what));
        m_failing = false;
        m_said_ok = true;
    }
    bool failing() const { return m_failing; }

  private:
    std::string m_what;
    bool m_failing = false;
    bool m_said_ok = false;
};

profile::FetchOptions bounded(uint64_t max_bytes) {
    profile::FetchOptions o;
    o.max_bytes = max_bytes;
    return o;
}

// The goroutine profile bytes to store: as served when gzip pprof, else re-encoded.
std::string profile_bytes(const std::string& body, const profile::Profile& p) {
    return profile::is_gzip(body) ? body : profile::serialize_profile(p);
}

class Puller {
  public:
    explicit Puller(const PullOptions& o)
        : m_o(o),
          m_service(local_service(o.url)),
          m_id(m_service.value_or(::getpid())),
          m_go(capture::go::endpoints_beside(o.url)),
          m_snapshots(o.dir, m_id),
          m_timeline(o.dir, m_id,
                     m_go ? capture::go::go_counter_columns() : std::vector<std::string>{}) {
        m_manifest.runtime = "go";
        m_manifest.capture = "pprof-url";
        m_manifest.pid = m_service.value_or(0);
        m_manifest.start_unix = unix_now();
        m_manifest.sampling =
            "the service's own (Go: runtime.MemProfileRate, every 512 KiB on "
            "average unless the program sets it)";
        m_manifest.extra["url"] = o.url;
        recorddir::write_manifest(m_o.dir, m_manifest);
    }

    // One pull; returns false (after a warning) when it failed.
    bool pull_once() {
        ++m_pulls;
        try {
            const std::string body = profile::fetch_url(m_o.url);
            if (body.empty()) throw util::Error("{} sent an empty reply", m_o.url);
            const profile::Profile p = profile::parse_profile(body, m_o.url);
            const profile::InUse t = in_use(p, m_o.url);
            const std::string name =
                m_snapshots.write(recorddir::Kind::profile, snapshot_bytes(body, p));
            recorddir::TimelineRow row;
            row.unix_time = unix_now();
            row.rss_bytes = rss_bytes(m_service);
            row.heap_inuse_bytes = static_cast<double>(t.bytes);
            row.heap_inuse_objects = static_cast<double>(t.objects);
            row.agent_bytes = std::numeric_limits<double>::quiet_NaN();  // no agent
            row.reason = "periodic";
            row.snapshot = name;
            if (m_go) row.counters = pull_go(name);
            const auto goroutines = row.counters.find(std::string(series::k_goroutines));
            m_last_goroutines = goroutines == row.counters.end()
                                    ? std::nullopt
                                    : std::optional<double>(goroutines->second);
            m_timeline.append(row);
            ++m_written;
            m_last = t;
            m_last_name = name;
            m_failures = 0;
            return true;
        } catch (const util::Error& e) {
            ++m_failures;
            warnf("pull {} failed ({} in a row): {}", m_pulls, m_failures, e.what());
            return false;
        }
    }

    // The goroutine profile (written beside heap snapshot `heap_name`) and runtime.MemStats of
    // this pull, as timeline counters; what failed is noted, not thrown.
    std::map<std::string, double> pull_go(const std::string& heap_name) {
        std::optional<double> goroutines;
        try {
            const std::string body =
                profile::fetch_url(m_go->goroutine, bounded(capture::go::k_max_goroutine_bytes));
            if (body.empty()) throw util::Error("{} sent an empty reply", m_go->goroutine);
            const profile::Profile p = profile::parse_profile(body, m_go->goroutine);
            goroutines = static_cast<double>(profile::goroutine_count(p, m_go->goroutine));
            m_snapshots.write_companion(heap_name, recorddir::Kind::goroutine,
                                        profile_bytes(body, p));
            m_goroutine_extra.worked();
        } catch (const util::Error& e) {
            m_goroutine_extra.failed(e.what());
        }
        return capture::go::go_counters(pull_memstats(), goroutines);
    }

    // runtime.MemStats from /debug/vars (it has PauseTotalNs) while that works, else from the
    // heap?debug=1 text.
    std::optional<capture::go::MemStats> pull_memstats() {
        if (!m_go->vars.empty() && !m_vars_missing) {
            try {
                const std::string body =
                    profile::fetch_url(m_go->vars, bounded(capture::go::k_max_vars_bytes));
                auto m = capture::go::parse_expvar_memstats(body, m_go->vars);
                if (!m) {
                    throw util::Error("{} has no \"memstats\" (is expvar imported?)", m_go->vars);
                }
                return m;
            } catch (const util::Error& e) {
                // Most services import net/http/pprof without expvar: fall back for good.
                m_vars_missing = true;
                note(
                    fmt::format("runtime.MemStats from {} instead: {}", m_go->heap_text, e.what()));
            }
        }
        try {
            const std::string body =
                profile::fetch_url(m_go->heap_text, bounded(capture::go::k_max_heap_text_bytes));
            auto m = capture::go::parse_memstats_text(body, m_go->heap_text);
            if (!m) throw util::Error("{} has no \"# runtime.MemStats\" block", m_go->heap_text);
            m_memstats_extra.worked();
            return m;
        } catch (const util::Error& e) {
            m_memstats_extra.failed(e.what());
            return std::nullopt;
        }
    }

    int run() {
        sigset_t set = stop_signals(), old;
        ::sigprocmask(SIG_BLOCK, &set, &old);
        std::fprintf(stderr, "leakhunt: pulling %s every %gs into %s\n", m_o.url.c_str(),
                     m_o.every_s, m_o.dir.c_str());
        if (m_service) {
            std::fprintf(stderr,
                         "leakhunt: the service is pid %d on this host: its RSS goes into "
                         "the timeline\n",
                         *m_service);
        } else {
            warn(
                "the service is not a process on this host that leakhunt can see, so the "
                "timeline has no RSS (rss_bytes stays empty; its heap_inuse_bytes is filled)");
        }
        if (!m_go) {
            note(
                fmt::format("{} does not end in /heap, so no goroutine profile or "
                            "runtime.MemStats is pulled beside it",
                            m_o.url));
        }
        const auto start = Clock::now();
        const auto every =
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(m_o.every_s));
        const auto deadline = m_o.duration_s > 0
                                  ? start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(m_o.duration_s))
                                  : Clock::time_point::max();
        int code = k_exit_ok;
        std::string why = "stopped";
        for (long tick = 0;; ++tick) {
            pull_once();
            if (m_failures >= m_o.max_failures) {
                why = fmt::format("gave up after {} failed pulls in a row", m_failures);
                code = k_exit_error;
                break;
            }
            if (m_o.count > 0 && static_cast<long>(m_written) >= m_o.count) {
                why = fmt::format("--count {} reached", m_o.count);
                break;
            }
            const auto next = start + every * (tick + 1);
            if (next > deadline) {
                why = "--duration reached";
                break;
            }
            const int sig = wait_until(set, next);
            if (sig != 0) {
                why = stop_signal_text(sig);
                break;
            }
        }
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        // A pulled service goes on running: there is no exit snapshot to name.
        recorddir::write_manifest(m_o.dir, m_manifest);
        if (m_written > 0) {
            const std::string goroutines =
                m_last_goroutines
                    ? fmt::format(", {} goroutines", util::format_count(*m_last_goroutines))
                    : std::string();
            std::fprintf(stderr,
                         "leakhunt: %s: wrote %zu snapshot%s and %s; last: %s in use in %lld "
                         "objects%s -> %s\n",
                         why.c_str(), m_written, m_written == 1 ? "" : "s",
                         m_timeline.path().c_str(),
                         util::format_bytes(static_cast<double>(m_last.bytes)).c_str(),
                         static_cast<long long>(m_last.objects), goroutines.c_str(),
                         (m_o.dir / m_last_name).c_str());
        } else {
            std::fprintf(stderr, "leakhunt: %s: no snapshot was written\n", why.c_str());
        }
        if (code != k_exit_ok) {
            throw util::Error(
                "cannot pull {}: {} (is the service running, and is the URL its "
                "heap profile endpoint?)",
                m_o.url, why);
        }
        return code;
    }

  private:
    // Sleeps until `when` unless a signal of `set` arrives first; returns it, or 0.
    // A pull that took longer than the interval still looks for a pending signal (a zero
    // timeout), so that a slow service cannot keep the loop from ever seeing ^C.
    static int wait_until(const sigset_t& set, Clock::time_point when) {
        while (true) {
            const auto now = Clock::now();
            if (now >= when) {
                const timespec zero{0, 0};
                const int sig = ::sigtimedwait(&set, nullptr, &zero);
                return sig > 0 ? sig : 0;
            }
            const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(when - now);
            timespec ts{static_cast<time_t>(left.count() / 1000000000),
                        static_cast<long>(left.count() % 1000000000)};
            const int sig = ::sigtimedwait(&set, nullptr, &ts);
            if (sig > 0) return sig;
            // EAGAIN: the time passed; EINTR: another signal, wait again.
        }
    }

    const PullOptions& m_o;
    std::optional<pid_t> m_service;
    pid_t m_id;
    std::optional<capture::go::Endpoints> m_go;
    recorddir::SnapshotWriter m_snapshots;
    recorddir::TimelineWriter m_timeline;
    recorddir::Manifest m_manifest;
    size_t m_written = 0;
    size_t m_pulls = 0;
    int m_failures = 0;
    Extra m_goroutine_extra{"goroutine profile"};
    Extra m_memstats_extra{"runtime.MemStats"};
    bool m_vars_missing = false;
    std::optional<double> m_last_goroutines;
    profile::InUse m_last;
    std::string m_last_name;
};

}  // namespace

int pull_profiles(const PullOptions& options) {
    return Puller(options).run();
}

}  // namespace leakhunt::cli
