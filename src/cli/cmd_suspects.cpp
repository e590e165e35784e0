// `leakhunt suspects SNAPSHOT... | DIR`: over three or more heap snapshots of one process, the
// allocation sites whose in-use memory grows steadily, ranked, each said in a sentence
// (trend/suspects.hpp). A DIR is a `leakhunt record` directory: its heap.PID.NNNN.pb.gz files of
// one PID (--pid, else the PID with the most snapshots, said on stderr), whose timeline gives the
// RSS at each snapshot: when RSS grew and the profiled heap did not, that is said instead of a
// ranking (report/snapshot_suspects.hpp). Go goroutine profiles (a directory's
// goroutine.PID.NNNN.pb.gz, which `record --pprof-url` pulls, or goroutine profile files) get the
// same ranking by the count of each stack's goroutines. Heap graphs (JVM .hprof dumps, V8
// .heapsnapshot files, Python .pygraph files, or a record directory holding them and no profiles)
// are ranked by their class histograms; one heap graph alone gets MAT's leak suspects
// (cli/heapgraph_view.hpp).
#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/heapgraph_view.hpp"
#include "cli/profile_input.hpp"
#include "cli/progress.hpp"
#include "patterns/patterns.hpp"
#include "profile/goroutines.hpp"
#include "profile/pprof.hpp"
#include "recorddir/record_dir.hpp"
#include "report/snapshot_suspects.hpp"
#include "trend/suspects.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {
namespace fs = std::filesystem;

constexpr size_t k_min_snapshots = report::k_min_suspect_snapshots;
constexpr size_t k_default_text_rows = 10;

struct SuspectsArgs {
    std::vector<std::string> inputs;
    bool json = false;
    bool all = false;
    int top = -1;     // -1: 10 in text, all in JSON; 0: all
    std::string pid;  // --pid, parsed by parse_pid_option
    std::string sample_index = "inuse_space";
    std::string patterns_file;
};

// The pattern a suspect's site matches (a learned leak of the same site, or a runtime's known
// site such as lru_cache); nothing when the runtime is not known.
std::optional<patterns::Match> suspect_pattern(const trend::Suspect& s, const std::string& runtime,
                                               const std::vector<patterns::Pattern>& learned) {
    if (runtime.empty()) return std::nullopt;
    return patterns::match(patterns::signature_of({runtime, s.site.key.name, {}}), learned);
}

const char* k_more_hint =
    "record longer with `leakhunt record --snapshot-every 30s -- CMD`, or take more with "
    "`leakhunt snapshot PID`";

// The snapshot files of a record directory for one PID, in index order, by the rule of
// recorddir::select_profiles: the exit snapshot is left out when 3 others remain (a program's exit
// often frees what it held, which reads as a sudden drop). Sets `pid` to the process used.
recorddir::Selection directory_snapshots(const fs::path& dir, pid_t want_pid, pid_t& pid) {
    const recorddir::Listing listing = recorddir::list(dir);
    std::vector<long> with_profiles;
    const auto profiles_of = [&](long id) {
        return listing.count(id, recorddir::Kind::profile) +
               listing.count(id, recorddir::Kind::goroutine);
    };
    for (long id : listing.ids()) {
        if (profiles_of(id) > 0) with_profiles.push_back(id);
    }
    if (with_profiles.empty()) {
        throw util::Error("{} holds no heap.PID.NNNN.pb.gz snapshots; {}", dir.string(),
                          k_more_hint);
    }
    if (want_pid != 0) {
        if (profiles_of(want_pid) == 0) {
            std::string have;
            for (long p : with_profiles) have += fmt::format("{}{}", have.empty() ? "" : ", ", p);
            throw util::UsageError("{} has no snapshots of PID {} (it has PIDs {})", dir.string(),
                                   want_pid, have);
        }
        pid = want_pid;
    } else {
        pid = static_cast<pid_t>(*recorddir::main_id(listing));
        if (profiles_of(pid) == 0) pid = static_cast<pid_t>(with_profiles.front());
        if (with_profiles.size() > 1) {
            warnf(
                "{} holds snapshots of {} processes; using PID {} ({} snapshots, the most); "
                "choose another with --pid",
                dir.string(), with_profiles.size(), pid,
                listing.count(pid, recorddir::Kind::profile));
        }
    }
    return recorddir::select_profiles(dir, listing, pid, k_min_snapshots);
}

size_t row_limit(const SuspectsArgs& args) {
    return args.top > 0    ? static_cast<size_t>(args.top)
           : args.top == 0 ? SIZE_MAX
                           : (args.json ? SIZE_MAX : k_default_text_rows);
}

// The ranked lines and the "Not ranked" summary (or list, with --all), in text.
// `note` gives a line said under a ranked suspect (the pattern it matches), if any.
void print_ranking(
    const trend::SuspectReport& report, const std::string& unit, size_t limit, bool all,
    const std::function<std::optional<std::string>(const trend::Suspect&)>& note = {}) {
    const auto per_hour = [&](double v) {
        if (unit == "bytes") return util::format_bytes(v);
        if (unit == "goroutines") return util::format_count(v, util::CountSign::always);
        return fmt::format("{:.1f} objects", v);
    };
    for (size_t i = 0; i < std::min(limit, report.suspects.size()); ++i) {
        const trend::Suspect& s = report.suspects[i];
        std::printf(
            "%2zu. %s\n    %s/h  share %.0f%%  %s  confidence %.2f  (Mann-Kendall tau "
            "%.2f, p %.2g)\n",
            i + 1, util::terminal_safe(s.sentence).c_str(),
            per_hour(s.trend.slope_per_hour).c_str(), 100.0 * s.share_of_growth,
            std::string(trend::shape_name(s.trend.shape)).c_str(), s.trend.confidence, s.trend.tau,
            s.trend.p_up);
        if (note) {
            if (const auto line = note(s))
                std::printf("    %s\n", util::terminal_safe(*line).c_str());
        }
    }
    std::map<std::string, size_t> counts;
    const auto kind = [](const trend::Suspect& s) {
        return s.minor ? std::string("minor growth")
                       : std::string(trend::shape_name(s.trend.shape));
    };
    for (const auto& s : report.others) ++counts[kind(s)];
    if (all && !report.others.empty()) {
        std::printf("Not ranked:\n");
        for (const auto& s : report.others) {
            std::printf("    [%s] %s\n", kind(s).c_str(), util::terminal_safe(s.sentence).c_str());
        }
    } else if (!report.others.empty()) {
        std::string summary;
        for (const auto& [shape, n] : counts) {
            summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, shape);
        }
        std::printf("Not ranked: %s (--all lists them)\n", summary.c_str());
    }
}

// The goroutine suspects of `files` (goroutine profiles).
report::GoroutineSuspects goroutine_suspects(
    const std::vector<std::pair<std::string, unsigned>>& files) {
    std::vector<profile::Profile> profiles;
    profiles.reserve(files.size());
    for (const auto& [path, index] : files) profiles.push_back(profile::read_profile(path));
    std::vector<report::SuspectSnapshot> inputs;
    for (size_t i = 0; i < files.size(); ++i) {
        inputs.push_back({files[i].first, files[i].second, &profiles[i], 0.0});
    }
    return report::find_goroutine_suspects(std::move(inputs));
}

// The goroutine ranking, in text or JSON lines.
void print_goroutine_suspects(const SuspectsArgs& args, const report::GoroutineSuspects& found,
                              const std::string& source) {
    const trend::SuspectReport& report = found.report;
    const size_t limit = row_limit(args);
    if (args.json) {
        for (size_t i = 0; i < std::min(limit, report.suspects.size()); ++i) {
            std::printf(
                "%s\n",
                report::suspect_json(report.suspects[i], i + 1, "goroutines").dump().c_str());
        }
        if (args.all) {
            for (const auto& s : report.others) {
                std::printf("%s\n", report::suspect_json(s, 0, "goroutines").dump().c_str());
            }
        }
        return;
    }
    std::printf("%zu goroutine profiles of %s over %s; goroutines %s -> %s\n", found.order.size(),
                util::terminal_safe(source).c_str(),
                util::format_duration(report.window_seconds).c_str(),
                util::format_count(static_cast<double>(found.first_total)).c_str(),
                util::format_count(static_cast<double>(found.last_total)).c_str());
    if (report.suspects.empty()) {
        std::printf(
            "No goroutine stack grows steadily (%zu stacks: none monotone and "
            "significant).\n",
            report.others.size());
    }
    print_ranking(report, "goroutines", limit, args.all);
}

// What a Python recording made with --native says about its native part.
std::string native_pointer(const fs::path& native) {
    return fmt::format(
        "The interpreter's native memory (malloc from C extensions and ctypes, which "
        "tracemalloc does not see) was recorded beside it: leakhunt suspects {}",
        util::terminal_safe(native.string()));
}

int run_suspects(const SuspectsArgs& args) {
    // One heap graph: what keeps the heap alive, as MAT's leak suspects.
    if (args.inputs.size() == 1 && is_heap_graph_file(args.inputs[0]) &&
        !fs::is_directory(args.inputs[0])) {
        if (!args.pid.empty()) throw util::UsageError("--pid applies to a record directory only");
        HeapGraphOptions options;
        options.json = args.json;
        options.top = args.top;
        return suspects_heap_graph(args.inputs[0], options);
    }
    std::vector<std::pair<std::string, unsigned>> files;
    std::vector<std::pair<std::string, unsigned>> goroutine_files;
    std::string source;
    size_t left_out = 0;
    std::map<std::string, report::SnapshotFacts> facts_of;  // file name -> from the timeline
    std::string runtime;             // from a directory's manifest; empty: unknown
    std::optional<fs::path> native;  // `record --native`: the interpreter's malloc
    const pid_t want_pid = args.pid.empty() ? 0 : parse_pid_option("--pid", args.pid);
    // Heap graphs (heap dumps, V8 snapshots) are ranked by their class histograms: given as
    // files, or a record directory that holds them and no profiles.
    bool graphs = false;
    if (args.inputs.size() == 1 && fs::is_directory(args.inputs[0])) {
        if (want_pid == 0) {
            for (const std::string& f : heap_graphs_without_profiles(args.inputs[0])) {
                files.emplace_back(
                    f, recorddir::parse_snapshot_name(fs::path(f).filename().string())->seq);
            }
            graphs = !files.empty();
            source = fmt::format("{} (heap graphs)", args.inputs[0]);
        }
    } else {
        graphs = !args.inputs.empty() &&
                 std::all_of(args.inputs.begin(), args.inputs.end(),
                             [](const auto& f) { return is_heap_graph_file(f); });
    }
    if (!files.empty()) {
        // A directory's heap graphs, listed above.
    } else if (args.inputs.size() == 1 && fs::is_directory(args.inputs[0])) {
        pid_t pid = 0;
        const recorddir::Selection selected = directory_snapshots(args.inputs[0], want_pid, pid);
        left_out = selected.left_out ? 1 : 0;
        for (const auto& file : selected.files) {
            files.emplace_back(file.string(),
                               recorddir::parse_snapshot_name(file.filename().string())->seq);
        }
        for (const auto& file :
             recorddir::list(args.inputs[0]).files(pid, recorddir::Kind::goroutine)) {
            goroutine_files.emplace_back(
                file.string(), recorddir::parse_snapshot_name(file.filename().string())->seq);
        }
        source = fmt::format("{} (PID {})", args.inputs[0], pid);
        if (const auto manifest = recorddir::read_manifest(args.inputs[0]))
            runtime = manifest->runtime;
        facts_of = report::snapshot_facts(args.inputs[0], pid);
        native = recorddir::native_part(args.inputs[0]);
    } else {
        if (want_pid != 0) throw util::UsageError("--pid applies to a record directory only");
        for (size_t i = 0; i < args.inputs.size(); ++i) {
            if (fs::is_directory(args.inputs[i])) {
                throw util::UsageError(
                    "{} is a directory: give one record directory, or snapshot "
                    "files only",
                    args.inputs[i]);
            }
            const auto parsed =
                recorddir::parse_snapshot_name(fs::path(args.inputs[i]).filename().string());
            files.emplace_back(args.inputs[i], parsed ? parsed->seq : static_cast<unsigned>(i));
        }
        source = fmt::format("{} files", files.size());
        // Goroutine profiles given as files: ranked by goroutine count, not by heap. (A heap graph
        // is none, whatever its name: it is not read as a profile.)
        const auto is_goroutines = [](const std::pair<std::string, unsigned>& f) {
            const auto parsed =
                recorddir::parse_snapshot_name(fs::path(f.first).filename().string());
            return parsed ? parsed->kind == recorddir::Kind::goroutine
                          : profile::is_goroutine_profile(profile::read_profile(f.first));
        };
        if (!graphs && !files.empty() && std::all_of(files.begin(), files.end(), is_goroutines)) {
            goroutine_files = std::move(files);
            files.clear();
        }
    }
    if (files.size() < k_min_snapshots && goroutine_files.size() >= k_min_snapshots) {
        print_goroutine_suspects(args, goroutine_suspects(goroutine_files), source);
        std::fflush(stdout);
        return k_exit_ok;
    }
    if (files.size() < k_min_snapshots) {
        throw util::Error("suspects needs at least {} snapshots to see a trend, found {} in {}; {}",
                          k_min_snapshots, files.size(), source, k_more_hint);
    }

    symbolize::Symbolizer symbolizer;
    std::vector<profile::Profile> profiles;
    profiles.reserve(files.size());
    for (const auto& [path, index] : files) {
        profiles.push_back(graphs ? heap_graph_profile(path) : read_symbolized(path, symbolizer));
    }
    std::vector<report::SuspectSnapshot> inputs;
    for (size_t i = 0; i < files.size(); ++i) {
        const auto facts = facts_of.find(fs::path(files[i].first).filename().string());
        const report::SnapshotFacts f =
            facts == facts_of.end() ? report::SnapshotFacts{} : facts->second;
        inputs.push_back({files[i].first, files[i].second, &profiles[i], f.rss_bytes,
                          f.collected_heap_bytes, f.whole_heap_bytes});
    }
    Progress bar = Progress::on_stderr("aggregating", files.size());
    const report::SnapshotSuspects found = report::find_snapshot_suspects(
        std::move(inputs), symbolizer, args.sample_index, bar.callback());
    bar.finish();
    const trend::SuspectReport& report = found.report;
    const std::string& unit = found.unit;
    const std::vector<patterns::Pattern> learned = patterns::load_for_matching(
        args.patterns_file.empty() ? std::nullopt : std::optional<fs::path>(args.patterns_file));

    const size_t limit = row_limit(args);
    const bool with_goroutines = goroutine_files.size() >= k_min_snapshots;
    const std::optional<report::GoroutineSuspects> goroutines =
        with_goroutines ? std::optional(goroutine_suspects(goroutine_files)) : std::nullopt;
    // Goroutines that grow explain memory the heap profile does not hold (their stacks, and
    // what only they reference): said beside a growth outside the heap.
    const std::string goroutine_growth =
        goroutines && !goroutines->report.suspects.empty()
            ? fmt::format(
                  "Goroutines grew from {} to {} over the same time: their stacks are not "
                  "in the heap profile (the goroutine ranking follows)",
                  util::format_count(static_cast<double>(goroutines->first_total)),
                  util::format_count(static_cast<double>(goroutines->last_total)))
            : std::string();
    if (args.json) {
        if (!found.growth_outside_heap.empty()) {
            warn(found.growth_outside_heap);
            if (!goroutine_growth.empty()) warn(goroutine_growth);
        }
        if (!found.filling_in.empty()) warn(found.filling_in);
        for (size_t i = 0; i < std::min(limit, report.suspects.size()); ++i) {
            nlohmann::json row = report::suspect_json(report.suspects[i], i + 1, unit);
            if (const auto m = suspect_pattern(report.suspects[i], runtime, learned))
                row["pattern"] = patterns::to_json(*m);
            std::printf("%s\n", row.dump().c_str());
        }
        if (args.all) {
            for (const auto& s : report.others)
                std::printf("%s\n", report::suspect_json(s, 0, unit).dump().c_str());
        }
        if (goroutines) print_goroutine_suspects(args, *goroutines, source);
        std::fflush(stdout);
        if (native) std::fprintf(stderr, "leakhunt: %s\n", native_pointer(*native).c_str());
        return k_exit_ok;
    }
    const auto first = static_cast<double>(found.first_total);
    const auto last = static_cast<double>(found.last_total);
    auto amount = [&](double v) {
        return unit == "bytes" ? util::format_bytes(v) : fmt::format("{:.0f} objects", v);
    };
    std::printf("%zu snapshots of %s over %s%s; in-use heap %s -> %s\n", found.order.size(),
                util::terminal_safe(source).c_str(),
                util::format_duration(report.window_seconds).c_str(),
                left_out > 0 ? " (the exit snapshot left out)" : "", amount(first).c_str(),
                amount(last).c_str());
    if (!found.growth_outside_heap.empty()) {
        std::printf(
            "%s.\nNo allocation site is ranked: what the profiled heap's sites do is not "
            "this growth.\n",
            found.growth_outside_heap.c_str());
        if (!goroutine_growth.empty()) std::printf("%s.\n", goroutine_growth.c_str());
    } else if (report.suspects.empty()) {
        if (!found.filling_in.empty()) {
            std::printf("%s.\n", util::terminal_safe(found.filling_in).c_str());
        }
        std::printf(
            "No allocation site grows steadily (%zu sites: none monotone and "
            "significant).\n",
            report.others.size());
    }
    print_ranking(report, unit, limit, args.all,
                  [&](const trend::Suspect& s) -> std::optional<std::string> {
                      if (const auto m = suspect_pattern(s, runtime, learned))
                          return patterns::describe(*m);
                      return std::nullopt;
                  });
    if (goroutines) {
        std::printf("\n");
        print_goroutine_suspects(args, *goroutines, source);
    }
    if (native) std::printf("\n%s.\n", native_pointer(*native).c_str());
    std::fflush(stdout);
    return k_exit_ok;
}

}  // namespace

Runner add_suspects(CLI::App& app) {
    auto args = std::make_shared<SuspectsArgs>();
    CLI::App* cmd = app.add_subcommand(
        "suspects",
        "Allocation sites whose in-use memory grows steadily over 3+ heap snapshots "
        "(and Go goroutine stacks whose count grows)");
    cmd->add_option("snapshots", args->inputs,
                    "Heap snapshots (pprof) of one process, or a `leakhunt record` directory")
        ->required();
    cmd->add_flag("--json", args->json, "One JSON object per site");
    cmd->add_flag("--all", args->all,
                  "Also list the sites not ranked (plateau, churn, shrinking, flat)");
    cmd->add_option("--top", args->top,
                    "Show this many suspects (default: 10 in text, all in "
                    "JSON; 0: all)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--pid", args->pid, "In a record directory, the process to analyse");
    cmd->add_option("--sample-index", args->sample_index, "The in-use value to follow")
        ->check(CLI::IsMember({"inuse_space", "inuse_objects"}))
        ->capture_default_str();
    cmd->add_option(
        "--patterns", args->patterns_file,
        "Patterns file to match the suspects against (default: the user's, see `leakhunt learn`)");
    return [args] { return run_suspects(*args); };
}

}  // namespace leakhunt::cli
