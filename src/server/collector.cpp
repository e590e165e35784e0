// The collector behind /metrics: sources, the verdict cache, and the metric families.
#include "server/collector.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "proc/agent_control.hpp"
#include "recorddir/record_dir.hpp"
#include "series/store.hpp"
#include "server/exposition.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/units.hpp"

namespace leakhunt::server {
namespace fs = std::filesystem;
namespace {

bool alive(int64_t pid) {
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// The last non-NaN value of every column.
std::map<std::string, double, std::less<>> last_values(const series::Series& s) {
    std::map<std::string, double, std::less<>> out;
    for (const auto& [name, values] : s.columns) {
        for (size_t i = values.size(); i-- > 0;) {
            if (!std::isnan(values[i])) {
                out.emplace(name, values[i]);
                break;
            }
        }
    }
    return out;
}

std::string timeline_signature(const fs::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return "";
    return fmt::format("{}:{}.{}", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

// The process name: the file name of the command (argv[0]) of the latest instance; for a cgroup
// (no pid) or an unknown command, the target's display name.
std::string name_from_cmdline(int64_t pid, std::string_view cmdline, const std::string& display) {
    if (pid <= 0 || cmdline.empty()) return display;
    std::string_view argv0 = cmdline.substr(0, cmdline.find(' '));
    if (argv0.size() > 2 && argv0.front() == '[' && argv0.back() == ']') {
        return std::string(argv0.substr(1, argv0.size() - 2));  // a kernel thread's [comm]
    }
    if (const size_t slash = argv0.rfind('/'); slash != std::string_view::npos) {
        argv0 = argv0.substr(slash + 1);
    }
    return argv0.empty() ? display : std::string(argv0);
}

}  // namespace

std::optional<double> ProcessStatus::seconds_to_limit(double now_unix) const {
    const auto& at = classification.memory.projected_limit_at_s;
    if (!at || !series || !series->epoch_offset) return std::nullopt;
    return std::max(0.0, *series->epoch_offset + *at - now_unix);
}

std::string process_name(pid_t pid) {
    auto text = util::try_read_file(fmt::format("/proc/{}/comm", pid));
    if (!text) return "";
    while (!text->empty() && text->back() == '\n') text->pop_back();
    return *text;
}

Collector::Collector(SourceConfig config) : m_config(std::move(config)) {
    for (const auto& p : m_config.databases) m_databases.push_back(Database{p, {}, -1, {}, {}});
    for (const auto& p : m_config.record_dirs) m_dirs.push_back(RecordDir{p, {}, {}});
}

Collector::~Collector() = default;

trend::Classification Collector::judge(const series::Series& s) const {
    trend::ClassifyOptions options;
    options.engine.limit_bytes = m_config.limit_bytes;
    options.detection_latency = false;  // ~200 assessments per target: too slow per scrape
    return trend::classify(s, options);
}

void Collector::refresh_database(Database& db) {
    try {
        if (!db.store) {
            db.store = std::make_unique<series::Store>(db.path, series::OpenMode::existing);
            db.data_version = -1;
        }
        const int64_t version = db.store->data_version();
        if (version == db.data_version && db.error.empty()) return;
        std::set<int64_t> seen;
        for (const auto& info : db.store->list_targets()) {
            if (info.samples == 0 || !info.last_t) continue;
            seen.insert(info.id);
            Entry& e = db.targets[info.id];
            if (e.samples != info.samples || e.last_t != *info.last_t || !e.status.series) {
                auto s = std::make_shared<series::Series>(db.store->load_series(info.id));
                e.status.classification = judge(*s);
                e.status.last = last_values(*s);
                e.status.series = std::move(s);
                e.samples = info.samples;
                e.last_t = *info.last_t;
            }
            e.status.source = "db:" + db.path.string();
            e.status.target = info.key;
            e.status.name =
                name_from_cmdline(info.last_pid.value_or(0), info.last_cmdline, info.display);
            e.status.pid = info.last_pid;
            e.status.running = info.running;
            e.status.last_sample_unix = *info.last_t;
        }
        std::erase_if(db.targets, [&](const auto& kv) { return !seen.contains(kv.first); });
        db.data_version = version;
        db.error.clear();
    } catch (const util::Error& e) {
        // Reopen next time: the file may not exist yet, or was replaced.
        db.store.reset();
        db.error = e.what();
    }
}

void Collector::refresh_dir(RecordDir& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir.path, ec)) {
        dir.error = fmt::format(
            "{} is not a directory (start the program with leakhunt record "
            "--out {} -- CMD)",
            dir.path.string(), dir.path.string());
        dir.pids.clear();
        return;
    }
    recorddir::Listing listing;
    try {
        listing = recorddir::list(dir.path);
    } catch (const util::Error& e) {
        dir.error = e.what();
        dir.pids.clear();
        return;
    }
    dir.error.clear();
    std::set<pid_t> seen;
    for (const auto& [id, file] : listing.timelines) {
        const auto pid = static_cast<pid_t>(id);
        seen.insert(pid);
        Entry& e = dir.pids[pid];
        // The signature (size and mtime) stands in for the sample count.
        const std::string signature = timeline_signature(file);
        if (!e.status.series || e.signature != signature) {
            std::vector<recorddir::TimelineRow> rows;
            try {
                rows = recorddir::read_timeline(dir.path, id);
            } catch (const util::Error&) {
                continue;  // a damaged timeline shows no series, as an empty one
            }
            auto s = std::make_shared<series::Series>();
            std::vector<double> rss;
            std::vector<double> heap;
            double origin = 0;
            for (const auto& row : rows) {
                if (s->t.empty()) origin = row.unix_time;
                const double t = row.unix_time - origin;
                if (!s->t.empty() && t <= s->t.back()) continue;
                s->t.push_back(t);
                rss.push_back(row.rss_bytes);
                heap.push_back(row.heap_inuse_bytes);
            }
            if (s->t.empty()) continue;
            s->epoch_offset = origin;
            s->columns.emplace(std::string(series::k_rss), std::move(rss));
            s->columns.emplace(std::string(series::k_heap_inuse), std::move(heap));
            s->name = fmt::format("pid {}", pid);
            e.status.classification = judge(*s);
            e.status.last = last_values(*s);
            e.last_t = origin + s->t.back();
            e.samples = static_cast<int64_t>(s->size());
            e.status.series = std::move(s);
            e.signature = signature;
        }
        e.status.running = alive(pid);
        if (e.status.running || e.status.name.empty()) e.status.name = process_name(pid);
        e.status.pid = pid;
        e.status.source = "dir:" + dir.path.string();
        e.status.target = fmt::format("record:{}:{}", dir.path.string(), pid);
        e.status.last_sample_unix = e.last_t;
    }
    std::erase_if(dir.pids, [&](const auto& kv) {
        return !seen.contains(kv.first) || !kv.second.status.series;
    });
}

std::vector<ProcessStatus> Collector::statuses() const {
    std::vector<ProcessStatus> out;
    for (const auto& db : m_databases) {
        for (const auto& [id, e] : db.targets) out.push_back(e.status);
    }
    for (const auto& dir : m_dirs) {
        for (const auto& [pid, e] : dir.pids) out.push_back(e.status);
    }
    return out;
}

std::vector<ProcessStatus> Collector::refresh() {
    std::lock_guard lock(m_mutex);
    for (auto& db : m_databases) refresh_database(db);
    for (auto& dir : m_dirs) refresh_dir(dir);
    return statuses();
}

std::vector<SourceStatus> Collector::sources() {
    std::lock_guard lock(m_mutex);
    std::vector<SourceStatus> out;
    for (const auto& db : m_databases) {
        out.push_back({"db:" + db.path.string(), db.error.empty() && db.store, db.error});
    }
    for (const auto& dir : m_dirs) {
        out.push_back({"dir:" + dir.path.string(), dir.error.empty(), dir.error});
    }
    return out;
}

std::vector<pid_t> Collector::live_agent_pids() {
    // Agents that write into one of the record directories: by their timeline there (after a
    // first snapshot) or by their LEAKHUNT_OUT (before one; readable for our own processes).
    std::set<pid_t> out;
    std::vector<fs::path> dirs;
    for (const auto& dir : m_config.record_dirs) {
        std::error_code ec;
        fs::path c = fs::canonical(dir, ec);
        if (!ec) dirs.push_back(c);
        try {
            for (const auto& [pid, file] : recorddir::list(dir).timelines) {
                if (alive(pid)) out.insert(static_cast<pid_t>(pid));
            }
        } catch (const util::Error&) {
            // Not there (yet): its agents are found by their LEAKHUNT_OUT below.
        }
    }
    for (pid_t pid : proc::agent_pids()) {
        const std::string out_dir = proc::agent_out_dir(pid);
        if (out_dir.empty()) continue;
        std::error_code ec;
        const fs::path c = fs::canonical(out_dir, ec);
        if (ec) continue;
        for (const auto& d : dirs) {
            if (c == d) out.insert(pid);
        }
    }
    return {out.begin(), out.end()};
}

std::string Collector::metrics_text() {
    const auto started = std::chrono::steady_clock::now();
    const std::vector<ProcessStatus> processes = refresh();
    const std::vector<SourceStatus> source_list = sources();
    const double now = util::unix_now();

    Exposition x;
    x.declare(metric::build_info, MetricType::gauge,
              "A constant 1, labelled with the version of leakhunt serving these metrics.");
    x.add(metric::build_info, {{"version", LEAKHUNT_VERSION}}, 1);
    x.declare(metric::source_up, MetricType::gauge,
              "1 if the watch database or record directory could be read at this scrape, else 0.");
    for (const auto& s : source_list)
        x.add(metric::source_up, {{"source", s.source}}, s.up ? 1 : 0);

    x.declare(metric::resident, MetricType::gauge, "Resident set size at the last sample.");
    x.declare(metric::proportional, MetricType::gauge,
              "Proportional set size (PSS) at the last sample (watch --smaps).");
    x.declare(metric::anonymous, MetricType::gauge,
              "Anonymous resident memory at the last sample.");
    x.declare(metric::heap_inuse, MetricType::gauge,
              "Heap bytes in use per the leakhunt agent at the last sample (record directories).");
    x.declare(metric::open_fds, MetricType::gauge, "Open file descriptors at the last sample.");
    x.declare(metric::threads, MetricType::gauge, "Threads at the last sample.");
    x.declare(metric::cgroup_usage, MetricType::gauge,
              "Memory usage of the watched cgroup at the last sample.");
    x.declare(metric::limit, MetricType::gauge,
              "The memory limit the projection uses (cgroup limit or serve --limit).");
    x.declare(metric::running, MetricType::gauge,
              "1 if the latest instance of the process is still running, else 0.");
    x.declare(metric::last_sample, MetricType::gauge, "Unix time of the last sample.");
    x.declare(metric::samples, MetricType::gauge, "Number of samples the verdict is based on.");
    x.declare(metric::growth, MetricType::gauge,
              "Growth of the memory baseline (the minima between GC cycles and spikes) fitted by "
              "the verdict engine.");
    x.declare(metric::verdict, MetricType::gauge,
              "1 for the current verdict of the process (leak, bounded, healthy, inconclusive), "
              "0 for the others.");
    x.declare(metric::confidence, MetricType::gauge, "Confidence of the verdict, 0 to 1.");
    x.declare(metric::projected, MetricType::gauge,
              "Seconds from now until memory reaches its limit at the fitted growth (only when a "
              "limit is known and memory grows).");
    x.declare(metric::flag, MetricType::gauge,
              "1 if the verdict engine raised the flag (fd_growth, thread_growth, fragmentation, "
              "restarts), else 0.");

    struct Column {
        std::string_view column;
        std::string_view metric;
    };
    constexpr Column k_gauges[] = {
        {series::k_rss, metric::resident},
        {series::k_pss, metric::proportional},
        {series::k_anon, metric::anonymous},
        {series::k_heap_inuse, metric::heap_inuse},
        {series::k_fds, metric::open_fds},
        {series::k_threads, metric::threads},
        {series::k_cgroup_usage, metric::cgroup_usage},
    };
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& p : processes) {
        const std::string pid = p.pid ? std::to_string(*p.pid) : "";
        // Two databases that watched the same target: a duplicate label set would make the
        // whole scrape fail, so the first source wins.
        if (!seen.emplace(p.target, pid).second) continue;
        const Labels labels{{"target", p.target}, {"name", p.name}, {"pid", pid}};
        for (const auto& g : k_gauges) {
            if (auto it = p.last.find(g.column); it != p.last.end())
                x.add(g.metric, labels, it->second);
        }
        const auto& a = p.classification.memory;
        if (p.classification.limit_bytes)
            x.add(metric::limit, labels, *p.classification.limit_bytes);
        x.add(metric::running, labels, p.running ? 1 : 0);
        x.add(metric::last_sample, labels, p.last_sample_unix);
        x.add(metric::samples, labels, static_cast<double>(a.samples));
        x.add(metric::growth, labels, a.growth_bytes_per_hour / 3600.0);
        for (auto v : {trend::Verdict::leak, trend::Verdict::bounded, trend::Verdict::healthy,
                       trend::Verdict::inconclusive}) {
            Labels l = labels;
            l.emplace_back("verdict", std::string(trend::to_string(v)));
            x.add(metric::verdict, l, a.verdict == v ? 1 : 0);
        }
        x.add(metric::confidence, labels, a.confidence);
        if (auto s = p.seconds_to_limit(now)) x.add(metric::projected, labels, *s);
        for (auto flag : k_flags) {
            Labels l = labels;
            l.emplace_back("flag", std::string(flag));
            bool set = false;
            for (const auto& f : a.flags) set = set || f == flag;
            x.add(metric::flag, l, set ? 1 : 0);
        }
    }
    x.declare(metric::scrape_duration, MetricType::gauge,
              "Time leakhunt took to read its sources and judge them for this scrape.");
    x.add(metric::scrape_duration, {},
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return x.render();
}

}  // namespace leakhunt::server
