// The record directory contract (DESIGN.md, "Record directory"), in one place: the names of its
// files, listing them, the timeline (read by its header, written whole and atomically), the
// manifest, and which snapshots an analysis uses (the exit-snapshot rule). Every writer (the
// agent aside: it follows the same names, format/agent_protocol.hpp) and every reader goes
// through here, never through its own globbing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leakhunt::recorddir {

// What a snapshot file holds, by its prefix and extension.
enum class Kind {
    profile,       // heap.ID.NNNN.pb.gz       gzip pprof of the heap
    scan,          // heap.ID.NNNN.scan        native heap scan
    heapsnapshot,  // heap.ID.NNNN.heapsnapshot V8 heap snapshot
    hprof,         // heap.ID.NNNN.hprof       JVM heap dump
    pygraph,       // heap.ID.NNNN.pygraph     Python object graph
    goroutine,     // goroutine.ID.NNNN.pb.gz  gzip pprof of Go's goroutines (sample type
                   //                          goroutine/count), taken with heap.ID.NNNN.pb.gz
};
inline constexpr Kind k_kinds[] = {Kind::profile, Kind::scan,    Kind::heapsnapshot,
                                   Kind::hprof,   Kind::pygraph, Kind::goroutine};

std::string_view extension(Kind kind);  // "pb.gz", "scan", ...
// A heap graph (heapsnapshot, hprof, pygraph): what `top`, `diff` and `paths` read as a graph.
bool is_heap_graph(Kind kind);
std::string_view prefix(Kind kind);  // "heap", or "goroutine"

// "PREFIX.ID.NNNN.EXT" (NNNN: at least four digits, from 0).
std::string snapshot_name(long id, unsigned seq, Kind kind);
// "timeline.ID.csv"
std::string timeline_name(long id);
inline constexpr char k_manifest_name[] = "manifest.json";
// A Python recording made with `record --native` holds the native agent's recording of the same
// interpreter in this subdirectory: a record directory of its own, with its own manifest.
inline constexpr char k_native_dir[] = "native";

struct SnapshotName {
    long id = 0;
    unsigned seq = 0;
    Kind kind = Kind::profile;
};
// A file name of the form above (no directory part), or nullopt.
std::optional<SnapshotName> parse_snapshot_name(std::string_view name);
std::optional<long> parse_timeline_name(std::string_view name);
// The name of the file of `kind` that belongs with snapshot `name` (heap.ID.NNNN.pb.gz ->
// heap.ID.NNNN.scan: the heap scan taken with that profile); nullopt for another name.
std::optional<std::string> companion_name(std::string_view name, Kind kind);

// The files of a record directory, by recorded id (a PID, or the recorder's own PID for a
// service it could not see) and sequence number.
struct Listing {
    std::map<long, std::filesystem::path> timelines;
    std::map<long, std::map<Kind, std::map<unsigned, std::filesystem::path>>> snapshots;

    // The ids that wrote a timeline or a snapshot, ascending.
    std::vector<long> ids() const;
    // Files of one kind for one id, in sequence order (empty if none).
    std::vector<std::filesystem::path> files(long id, Kind kind) const;
    size_t count(long id, Kind kind) const;
};
// Throws util::Error naming the directory when it cannot be listed.
Listing list(const std::filesystem::path& dir);

// The recorded process an analysis shows when the user names none: the one with the most
// profiles (the recorded program, not a short-lived child); ties go to the lower id.
// nullopt when the directory holds no recording at all.
std::optional<long> main_id(const Listing& listing);

// One row of timeline.ID.csv: one per snapshot. Values that were not measured are NaN (an empty
// cell). `counters` holds the runtime's own columns beyond the standard ones (e.g. a JS heap's
// heap_used_bytes, a JVM's old_gen_after_gc_bytes), by column name.
struct TimelineRow {
    double unix_time = 0;
    double rss_bytes = 0;
    double heap_inuse_bytes = 0;
    double heap_inuse_objects = 0;
    double agent_bytes = 0;
    std::string reason;    // periodic, request, exit, ...
    std::string snapshot;  // file name in the same directory (may be empty)
    std::map<std::string, double> counters;
};

// The standard columns, in the order every writer uses (format::k_timeline_header).
std::vector<std::string> standard_timeline_columns();

// DIR/timeline.ID.csv, read by its header: columns may come in any order, unknown ones become
// counters, a missing standard column reads as NaN. Empty if the file is absent. A row with a
// malformed number throws util::Error naming the file, line and column.
std::vector<TimelineRow> read_timeline(const std::filesystem::path& dir, long id);
std::vector<TimelineRow> parse_timeline(std::string_view text, const std::string& where);

// Writes one process's timeline: the whole file again, atomically, after each row, so a reader
// never sees half a row and a crash loses at most the row being written.
class TimelineWriter {
  public:
    TimelineWriter(std::filesystem::path dir, long id,
                   std::vector<std::string> counter_columns = {});
    void append(const TimelineRow& row);
    const std::filesystem::path& path() const { return m_path; }
    size_t rows() const { return m_rows; }

  private:
    std::filesystem::path m_path;
    std::vector<std::string> m_counters;
    std::string m_text;
    size_t m_rows = 0;
};

// Writes the snapshots of one recorded id, numbered 0000, 0001, ... (one numbering for every
// capture), each atomically; continues after the highest number already in the directory.
class SnapshotWriter {
  public:
    SnapshotWriter(std::filesystem::path dir, long id);
    // Writes `bytes` as the next snapshot of `kind`; returns its file name.
    std::string write(Kind kind, std::string_view bytes);
    // Writes `bytes` as the file of `kind` that goes with snapshot `name` (one this writer
    // wrote: companion_name), so that a pull's goroutine profile carries its heap profile's
    // number even when an earlier pull had none; returns its file name.
    std::string write_companion(std::string_view name, Kind kind, std::string_view bytes);
    // The next name of `kind` without writing (for a file another program writes, e.g. jcmd's
    // heap dump; it is then counted as written).
    std::string reserve(Kind kind);
    long id() const { return m_id; }
    const std::filesystem::path& dir() const { return m_dir; }

  private:
    std::filesystem::path m_dir;
    long m_id;
    std::map<Kind, unsigned> m_next;
};

// manifest.json: what was recorded and how. Written by the recorder (not by the agent) at the
// start and again at the end.
struct Manifest {
    std::string runtime;               // native, go, node, java, python
    std::string capture;               // agent, pprof-url, inspector, jcmd, tracemalloc, ...
    std::vector<std::string> command;  // empty when attached to a running process
    long pid = 0;                      // the recorded process (0: not on this host)
    double start_unix = 0;
    std::string sampling;       // e.g. "every 512 KiB on average", "every allocation"
    std::string exit_snapshot;  // file name, empty when none (still running, or killed)
    std::map<std::string, std::string> extra;  // runtime-specific facts (versions, ports)
};
void write_manifest(const std::filesystem::path& dir, const Manifest& manifest);
// nullopt when absent; util::Error naming the file and field when malformed.
std::optional<Manifest> read_manifest(const std::filesystem::path& dir);

// DIR/native when DIR is a record directory with a native recording beside it (k_native_dir
// holding a manifest), else nullopt.
std::optional<std::filesystem::path> native_part(const std::filesystem::path& dir);

// The snapshots an analysis over time uses, for one id: its profiles in sequence order, without
// the exit snapshot when at least `min_needed` others remain (a program's exit often frees what
// it held: destructors of static caches read as a sudden drop). The exit snapshot is the one the
// manifest names, else the one the timeline marks with reason "exit".
struct Selection {
    std::vector<std::filesystem::path> files;
    std::optional<std::filesystem::path> left_out;  // the exit snapshot, when left out
    std::optional<std::filesystem::path> exit_snapshot;
};
Selection select_profiles(const std::filesystem::path& dir, const Listing& listing, long id,
                          size_t min_needed);

// The heap graphs (.heapsnapshot, .hprof, .pygraph) of a directory's main process, in sequence
// order; when the main process has none (a launcher), those of the process with the most. Empty
// when `dir` is not a directory or holds none.
std::vector<std::filesystem::path> heap_graph_files(const std::filesystem::path& dir);

}  // namespace leakhunt::recorddir
