#include "capture/node/node_session.hpp"

#include <sys/statvfs.h>

#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "capture/node/inspector.hpp"
#include "capture/node/sampling_profile.hpp"
#include "proc/proc_files.hpp"
#include "proc/system_info.hpp"
#include "profile/pprof.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/units.hpp"

namespace leakhunt::capture::node {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr char k_object_group[] = "leakhunt";
// How long after its last call this session asks node to close the inspector (see finish()).
constexpr std::chrono::milliseconds k_close_delay{500};

double unix_time() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double rss_of(pid_t pid) {
    const auto text = util::try_read_file(fmt::format("/proc/{}/statm", pid));
    if (!text) return k_nan;
    const auto statm = proc::parse_statm(*text, proc::page_size());
    return statm.resident ? static_cast<double>(*statm.resident) : k_nan;
}

double number_or_nan(const json& j) {
    return j.is_number() ? j.get<double>() : k_nan;
}

// The value of a Runtime.evaluate / callFunctionOn reply made with returnByValue, or null when
// it threw.
json returned_value(const json& reply) {
    if (reply.contains("exceptionDetails")) return nullptr;
    const auto r = reply.find("result");
    if (r == reply.end() || !r->is_object()) return nullptr;
    const auto v = r->find("value");
    return v == r->end() ? json(nullptr) : *v;
}

std::uint64_t free_bytes(const fs::path& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return std::numeric_limits<std::uint64_t>::max();
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

// Counts and seconds of garbage collection since the start, through node's v8.GCProfiler
// (node 18.15+/19.6+), kept as a remote object of this session's object group, so the program's
// global scope is not touched.
constexpr char k_gc_start[] =
    "(() => { const v8 = require('v8'); if (typeof v8.GCProfiler !== 'function') return undefined;"
    " const p = new v8.GCProfiler(); p.start(); return p; })()";
constexpr char k_gc_take[] =
    "function() { const r = this.stop(); this.start(); let n = 0, us = 0;"
    " for (const s of (r && r.statistics) || []) { n++; us += s.cost; } return [n, us]; }";
constexpr char k_gc_stop[] = "function() { this.stop(); }";

// process.memoryUsage()'s external and arrayBuffers.
constexpr char k_memory_usage[] =
    "(() => { const m = process.memoryUsage(); return [m.external, m.arrayBuffers]; })()";

}  // namespace

std::vector<std::string> timeline_counters() {
    return {"js_heap_used_bytes", "js_heap_total_bytes", "external_bytes", "array_buffers_bytes",
            "gc_count",           "gc_seconds"};
}

struct NodeSession::Impl {
    pid_t pid;
    std::optional<std::uint64_t> started;
    fs::path dir;
    recorddir::Manifest manifest;
    SessionOptions o;
    InspectorLocation where;
    std::unique_ptr<CdpSession> cdp;
    recorddir::SnapshotWriter writer;
    recorddir::TimelineWriter timeline;
    std::string version;
    std::string gc_object;  // remote object id of the GC profiler; empty: none
    double gc_count = 0;
    double gc_seconds = 0;
    bool sampling = false;
    bool finished = false;
    bool ending = false;  // node said it waits for us to disconnect before it exits
    std::function<void(const std::string&)> chunk_sink;  // heap snapshot chunks, while one streams

    // Node waits at exit for every connected debugger to go ("Waiting for the debugger to
    // disconnect..."): told so (NodeRuntime.waitingForDisconnect), the session lets go at once,
    // so the program exits as it would have.
    void on_event(std::string_view method, const json& params) {
        if (method == "NodeRuntime.waitingForDisconnect") {
            ending = true;
            cdp->close();
            throw util::Error("process {} is exiting", pid);
        }
        if (method != "HeapProfiler.addHeapSnapshotChunk" || !chunk_sink) return;
        const auto chunk = params.find("chunk");
        if (chunk != params.end() && chunk->is_string()) {
            chunk_sink(chunk->get_ref<const std::string&>());
        }
    }

    Impl(pid_t p, fs::path d, recorddir::Manifest m, SessionOptions opts)
        : pid(p),
          started(start_time_of(p)),
          dir(std::move(d)),
          manifest(std::move(m)),
          o(opts),
          writer(dir, p),
          timeline(dir, p, timeline_counters()) {}

    json call(const char* method, const json& params = json::object()) {
        return cdp->call(method, params, o.call_timeout);
    }

    json evaluate(const std::string& expression, bool command_line_api = false) {
        return call("Runtime.evaluate", {{"expression", expression},
                                         {"returnByValue", true},
                                         {"silent", true},
                                         {"includeCommandLineAPI", command_line_api},
                                         {"objectGroup", k_object_group}});
    }

    void start_gc_profiler() {
        try {
            const json reply = call("Runtime.evaluate", {{"expression", k_gc_start},
                                                         {"silent", true},
                                                         {"includeCommandLineAPI", true},
                                                         {"objectGroup", k_object_group}});
            if (reply.contains("exceptionDetails")) return;
            const json& r = reply.value("result", json::object());
            if (r.contains("objectId") && r["objectId"].is_string()) {
                gc_object = r["objectId"].get<std::string>();
            }
        } catch (const util::Error&) {
            // No GC counters: the timeline keeps those cells empty.
        }
    }

    void read_gc() {
        if (gc_object.empty()) return;
        const json v =
            returned_value(call("Runtime.callFunctionOn", {{"objectId", gc_object},
                                                           {"functionDeclaration", k_gc_take},
                                                           {"returnByValue", true},
                                                           {"silent", true}}));
        if (v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number()) {
            gc_count += v[0].get<double>();
            gc_seconds += v[1].get<double>() / 1e6;  // cost is in microseconds
        }
    }

    void write_manifest() { recorddir::write_manifest(dir, manifest); }
};

NodeSession::NodeSession(pid_t pid, fs::path dir, recorddir::Manifest manifest,
                         SessionOptions options)
    : m(std::make_unique<Impl>(pid, std::move(dir), std::move(manifest), options)) {
    m->where = open_inspector(pid, options.open_timeout);
    try {
        if (!listens_on(pid, m->where.endpoint.port)) {
            throw util::Error("the inspector port {} is no longer one of process {}'s sockets",
                              m->where.endpoint.port, pid);
        }
        m->cdp = std::make_unique<CdpSession>(m->where.endpoint, m->where.target.websocket_path,
                                              options.open_timeout);
        m->cdp->set_event_handler([impl = m.get()](std::string_view method, const json& params) {
            impl->on_event(method, params);
        });
        try {
            m->call("NodeRuntime.notifyWhenWaitingForDisconnect", {{"enabled", true}});
        } catch (const util::Error&) {
            // Older node: it prints its wait message and waits for the recording's next call.
        }
        const json v = returned_value(m->evaluate("process.version"));
        if (v.is_string() && std::regex_match(v.get<std::string>(), std::regex("v[0-9.]{1,20}"))) {
            m->version = v.get<std::string>();
        }
        if (options.profile) {
            m->call("HeapProfiler.startSampling", {{"samplingInterval", options.sampling_interval},
                                                   {"includeObjectsCollectedByMajorGC", false},
                                                   {"includeObjectsCollectedByMinorGC", false}});
            m->sampling = true;
            m->start_gc_profiler();
        }
    } catch (...) {
        finish();
        throw;
    }
    if (!options.profile) return;
    m->manifest.runtime = "node";
    m->manifest.capture = "inspector";
    m->manifest.pid = pid;
    m->manifest.sampling =
        fmt::format("every {} on average (V8 sampling heap profiler, live objects after a full GC)",
                    util::format_bytes(static_cast<double>(options.sampling_interval)));
    if (!m->version.empty()) m->manifest.extra["node_version"] = m->version;
    m->manifest.extra["inspector"] =
        fmt::format("{}:{} ({})", m->where.endpoint.address, m->where.endpoint.port,
                    m->where.opened_by_us ? "opened by leakhunt with SIGUSR1, closed at the end"
                                          : "open already, left open");
    m->write_manifest();
}

NodeSession::~NodeSession() {
    try {
        finish();
    } catch (...) {
    }
}

bool NodeSession::process_lives() const {
    return !m->ending && node::process_lives(m->pid, m->started);
}

bool NodeSession::inspector_opened_by_us() const {
    return m->where.opened_by_us;
}
const Endpoint& NodeSession::endpoint() const {
    return m->where.endpoint;
}
std::string NodeSession::node_version() const {
    return m->version;
}
const fs::path& NodeSession::timeline_path() const {
    return m->timeline.path();
}

SnapshotResult NodeSession::snapshot(const std::string& reason) {
    // Garbage waits in the old generation until the next full collection: without one, a healthy
    // service's dead objects read as growth between two of V8's major GCs. One full collection
    // per snapshot (its pause is the cost, measured in README) leaves the live objects only.
    m->call("HeapProfiler.collectGarbage");
    const double now = unix_time();
    const json result = m->call("HeapProfiler.getSamplingProfile");
    const profile::Profile p = sampling_profile_to_pprof(result, m->o.sampling_interval,
                                                         static_cast<std::int64_t>(now * 1e9));
    recorddir::TimelineRow row;
    row.unix_time = now;
    row.rss_bytes = rss_of(m->pid);
    row.heap_inuse_bytes = 0;
    row.heap_inuse_objects = 0;
    for (const auto& s : p.samples) {
        row.heap_inuse_objects += static_cast<double>(s.values[2]);
        row.heap_inuse_bytes += static_cast<double>(s.values[3]);
    }
    row.agent_bytes = k_nan;
    row.reason = reason;
    const json usage = m->call("Runtime.getHeapUsage");
    row.counters["js_heap_used_bytes"] = number_or_nan(usage.value("usedSize", json()));
    row.counters["js_heap_total_bytes"] = number_or_nan(usage.value("totalSize", json()));
    const json mem = returned_value(m->evaluate(k_memory_usage));
    const bool have_mem = mem.is_array() && mem.size() == 2;
    row.counters["external_bytes"] = have_mem ? number_or_nan(mem[0]) : k_nan;
    row.counters["array_buffers_bytes"] = have_mem ? number_or_nan(mem[1]) : k_nan;
    m->read_gc();
    row.counters["gc_count"] = m->gc_object.empty() ? k_nan : m->gc_count;
    row.counters["gc_seconds"] = m->gc_object.empty() ? k_nan : m->gc_seconds;
    row.snapshot = m->writer.write(recorddir::Kind::profile, profile::serialize_profile(p));
    m->timeline.append(row);
    return {row.snapshot, row};
}

HeapSnapshotResult NodeSession::heap_snapshot() {
    const json usage = m->call("Runtime.getHeapUsage");
    const double used = number_or_nan(usage.value("usedSize", json()));
    const std::uint64_t estimate =
        (std::isnan(used) ? 0 : static_cast<std::uint64_t>(2 * used)) + k_min_free_bytes;
    if (const std::uint64_t free = free_bytes(m->dir); free < estimate) {
        throw util::Error(
            "not taking a heap snapshot: {} has {} free and the snapshot of a {} JS "
            "heap may need {} (free some space, or record into another directory)",
            m->dir.string(), util::format_bytes(static_cast<double>(free)),
            util::format_bytes(used), util::format_bytes(static_cast<double>(estimate)));
    }
    const std::string name = m->writer.reserve(recorddir::Kind::heapsnapshot);
    util::AtomicFile out(m->dir / name);
    std::uint64_t bytes = 0, drained = 0, next_check = 16u << 20;
    std::string refused;
    m->chunk_sink = [&](const std::string& text) {
        drained += text.size();
        if (!refused.empty()) {
            // V8 cannot be told to stop: the rest is read and dropped, up to a bound.
            if (drained > 2 * m->o.max_heapsnapshot_bytes) {
                throw util::Error("{} (and the inspector kept sending)", refused);
            }
            return;
        }
        if (bytes + text.size() > m->o.max_heapsnapshot_bytes) {
            refused =
                fmt::format("the heap snapshot of process {} is larger than {}: not kept", m->pid,
                            util::format_bytes(static_cast<double>(m->o.max_heapsnapshot_bytes)));
            return;
        }
        if (bytes + text.size() >= next_check) {
            next_check += 16u << 20;
            if (free_bytes(m->dir) < k_min_free_bytes + text.size()) {
                refused = fmt::format(
                    "the file system of {} is nearly full (less than {} free): "
                    "the heap snapshot was not kept",
                    m->dir.string(), util::format_bytes(static_cast<double>(k_min_free_bytes)));
                return;
            }
        }
        out.write(text);
        bytes += text.size();
    };
    const auto started = Clock::now();
    try {
        m->cdp->call("HeapProfiler.takeHeapSnapshot",
                     {{"reportProgress", false}, {"captureNumericValue", false}},
                     m->o.call_timeout);
    } catch (...) {
        m->chunk_sink = nullptr;
        throw;
    }
    const double pause = std::chrono::duration<double>(Clock::now() - started).count();
    m->chunk_sink = nullptr;
    if (!refused.empty()) throw util::Error("{}", refused);
    if (bytes == 0) {
        throw util::Error("the inspector of process {} sent an empty heap snapshot", m->pid);
    }
    out.commit();
    return {name, bytes, pause};
}

std::vector<std::string> NodeSession::finish() {
    std::vector<std::string> left;
    if (m->finished) return left;
    m->finished = true;
    // A process that ended has nothing left to restore.
    if (!process_lives() && m->cdp) m->cdp->close();
    const bool usable = m->cdp && m->cdp->open();
    if (usable && m->sampling) {
        try {
            m->call("HeapProfiler.stopSampling");
        } catch (const util::Error& e) {
            left.push_back(fmt::format("could not stop the sampling heap profiler: {}", e.what()));
        }
    }
    if (m->cdp && m->cdp->open() && !m->gc_object.empty()) {
        try {
            m->call(
                "Runtime.callFunctionOn",
                {{"objectId", m->gc_object}, {"functionDeclaration", k_gc_stop}, {"silent", true}});
            m->call("Runtime.releaseObjectGroup", {{"objectGroup", k_object_group}});
        } catch (const util::Error& e) {
            left.push_back(fmt::format("could not stop the GC profiler: {}", e.what()));
        }
    }
    if (m->where.opened_by_us && m->cdp && m->cdp->open()) {
        // process._debugEnd() closes the inspector (as inspector.close() does). Node tears its
        // I/O thread down then, and a WebSocket still closing at that moment is written to after
        // it is freed: node crashed with SIGSEGV in WsHandler::OnCloseFrameWritten about one
        // time in twenty when _debugEnd ran from this session (at once, or from setImmediate).
        // So it runs from an unref'd timer, after this session has closed (the close handshake
        // done below takes milliseconds); the timer never keeps an ending program alive.
        try {
            m->call("Runtime.evaluate",
                    {{"expression",
                      fmt::format("setTimeout(() => process._debugEnd(), {}).unref(), undefined",
                                  k_close_delay.count())},
                     {"silent", true}});
        } catch (const util::Error&) {
        }
        m->cdp->close();
        const auto deadline = Clock::now() + k_close_delay + std::chrono::seconds(10);
        while (listens_on(m->pid, m->where.endpoint.port) && Clock::now() < deadline &&
               process_lives()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (listens_on(m->pid, m->where.endpoint.port)) {
            left.push_back(fmt::format("the inspector of process {} is still open on port {}",
                                       m->pid, m->where.endpoint.port));
        }
    }
    if (m->cdp) m->cdp->close();
    if (!m->o.profile) return left;
    try {
        m->write_manifest();
    } catch (const util::Error& e) {
        left.push_back(e.what());
    }
    return left;
}

}  // namespace leakhunt::capture::node
