// `leakhunt paths SNAPSHOT|DIR` and `leakhunt leaks SNAPSHOT|DIR`: the heap scan written beside a
// snapshot (`snapshot PID --scan`, `record --all --leak-check`) read back; of a record directory,
// the latest scan of the recorded process. `paths` answers "what is still holding it?": for the
// biggest (or chosen) allocation sites, the paths from roots to their blocks, grouped and
// counted, and the holders ranked by the bytes reached through them. `leaks` prints the
// unreachable blocks in the format of LeakSanitizer.
// Heap graphs (V8 .heapsnapshot, JVM .hprof: one to three, or a record directory of them) go to
// heapgraph_view.hpp.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/heapgraph_view.hpp"
#include "cli/heapscan_view.hpp"
#include "cli/profile_input.hpp"
#include "heapgraph/explain.hpp"
#include "heapscan/retention.hpp"
#include "heapscan/retention_text.hpp"
#include "heapscan/scan_file.hpp"
#include "heapscan/scan_symbols.hpp"
#include "patterns/patterns.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

using heapscan::blocks_text;

std::string bytes_text(uint64_t b) {
    return util::format_bytes(static_cast<double>(b));
}

nlohmann::json site_json(const heapscan::SiteName& s) {
    return {{"function", s.function},
            {"via", s.via},
            {"file", s.file},
            {"line", s.line},
            {"label", s.label()}};
}

struct PathsArgs {
    std::vector<std::string> files;
    std::string file;
    std::string class_name;
    std::string site;
    std::string base;
    int top = 5;
    int paths = 5;
    bool json = false;
    std::string patterns_file;
    bool devtools_names = false;
};

// The pattern a scan's site matches, by its biggest path (patterns/patterns.hpp).
std::optional<patterns::Match> site_pattern(const heapscan::SiteRetention& s,
                                            const std::vector<patterns::Pattern>& learned) {
    if (s.paths.empty()) return std::nullopt;
    patterns::Finding f{"native", s.site.function, {s.paths.front().root}};
    for (const auto& h : s.paths.front().hops) f.holder_steps.push_back(h.site.label());
    return patterns::match(patterns::signature_of(f), learned);
}

// What was scanned as roots besides globals, TLS, stacks and registers, in one sentence.
std::string extra_roots_text(const heapscan::ScanSummary& s) {
    std::string text = fmt::format(
        "Roots: globals, TLS, thread stacks and registers, and {} writable anonymous mapping{} "
        "of the program's own ({})",
        s.mapping_roots, s.mapping_roots == 1 ? "" : "s", bytes_text(s.mapping_root_bytes));
    if (s.loader_blocks > 0) {
        text += fmt::format("; {} allocated by the dynamic loader", blocks_text(s.loader_blocks));
    }
    if (s.finished_threads > 0) {
        text += fmt::format("; the descriptors of {} finished thread{} not yet joined",
                            s.finished_threads, s.finished_threads == 1 ? "" : "s");
    }
    return text + ".";
}

void print_summary(const heapscan::ScanFile& scan, const std::string& name) {
    const auto& s = scan.summary;
    std::printf("Scan: %s (pid %lld, %s)\n", util::terminal_safe(name).c_str(),
                static_cast<long long>(s.pid), s.reason.c_str());
    std::printf("Heap: %s in %s; %s reachable in %s; threads stopped for %.1f ms (%llu threads)\n",
                bytes_text(s.bytes).c_str(), blocks_text(s.blocks).c_str(),
                bytes_text(s.reachable_bytes).c_str(), blocks_text(s.reachable_blocks).c_str(),
                static_cast<double>(s.pause_us) / 1000.0,
                static_cast<unsigned long long>(s.threads));
    std::printf("%s\n\n", extra_roots_text(s).c_str());
}

// The scan an argument names: a record directory's latest scan of the recorded process (said on
// stderr), else the file itself or the scan beside a snapshot (heapscan::scan_path_for).
std::filesystem::path scan_argument(const std::string& arg) {
    if (!std::filesystem::is_directory(arg)) return heapscan::scan_path_for(arg);
    const DirInput in = record_dir_input(arg, recorddir::Kind::scan);
    say_chosen(arg, fmt::format("{}, the latest of {} heap scan{} of PID {}",
                                in.files.back().filename().string(), in.files.size(),
                                in.files.size() == 1 ? "" : "s", in.pid));
    return in.files.back();
}

int run_paths(PathsArgs& args) {
    // Heap snapshots (files, or a record directory of them) are heap graphs; a .scan is native.
    std::vector<std::string> files = args.files;
    if (files.size() == 1) {
        if (auto in_dir = heap_graph_set_of(files[0]); !in_dir.empty()) files = std::move(in_dir);
    }
    const bool graphs = std::any_of(files.begin(), files.end(),
                                    [](const auto& f) { return is_heap_graph_file(f); });
    if (graphs) {
        for (const auto& f : files) {
            if (!is_heap_graph_file(f))
                throw util::UsageError(
                    "{} is not a heap snapshot (.heapsnapshot, .hprof); give only heap snapshots",
                    f);
        }
        if (!args.site.empty() || !args.base.empty()) {
            throw util::UsageError(
                "--site and --base are for heap scans; give heap snapshots in order (A B C) "
                "instead");
        }
        HeapGraphOptions options;
        options.json = args.json;
        options.top = args.top;
        options.paths = args.paths;
        options.class_name = args.class_name;
        options.devtools_names = args.devtools_names;
        if (!args.patterns_file.empty()) options.patterns_file = args.patterns_file;
        return paths_heap_graphs(files, options);
    }
    if (files.size() != 1)
        throw util::UsageError("a heap scan is read one at a time (got {} files)", files.size());
    if (!args.class_name.empty())
        throw util::UsageError("--class is for heap snapshots; a heap scan takes --site");
    args.file = files[0];
    const auto path = scan_argument(args.file);
    const heapscan::ScanFile scan = heapscan::read_scan_file(path);
    heapscan::ScanSymbols symbols(scan);
    heapscan::RetentionOptions options;
    options.top = static_cast<size_t>(args.top);
    if (!args.site.empty()) {
        try {
            options.site = std::regex(args.site);
        } catch (const std::regex_error& e) {
            throw util::UsageError("--site {}: not a valid regular expression ({})", args.site,
                                   e.what());
        }
    }
    std::optional<heapscan::ScanFile> base;
    if (!args.base.empty()) {
        base = heapscan::read_scan_file(heapscan::scan_path_for(args.base));
        if (base->summary.pid != scan.summary.pid) {
            throw util::UsageError(
                "--base {} is a scan of pid {}, not of pid {}: allocation "
                "sites can only be compared within one process",
                args.base, base->summary.pid, scan.summary.pid);
        }
        options.base = &*base;
    }
    const auto report = heapscan::build_retention(scan, symbols, options);
    for (const auto& w : symbols.warnings()) warn(w);
    const std::vector<patterns::Pattern> learned = patterns::load_for_matching(
        args.patterns_file.empty() ? std::nullopt
                                   : std::optional<std::filesystem::path>(args.patterns_file));
    const auto max_paths = static_cast<size_t>(args.paths);

    if (args.json) {
        for (const auto& h : report.holders) {
            std::printf(
                "%s\n",
                nlohmann::json{
                    {"type", "holder"}, {"root", h.root}, {"count", h.count}, {"bytes", h.bytes}}
                    .dump()
                    .c_str());
        }
        for (const auto& s : report.sites) {
            nlohmann::json paths = nlohmann::json::array();
            for (size_t i = 0; i < s.paths.size() && (max_paths == 0 || i < max_paths); ++i) {
                const auto& p = s.paths[i];
                nlohmann::json hops = nlohmann::json::array();
                for (const auto& h : p.hops) {
                    hops.push_back({{"site", site_json(h.site)},
                                    {"offset", h.offset},
                                    {"offsets_vary", h.offsets_vary},
                                    {"repeated", h.repeated}});
                }
                paths.push_back(
                    {{"root", p.root}, {"hops", hops}, {"count", p.count}, {"bytes", p.bytes}});
            }
            nlohmann::json row{
                {"type", "site"},   {"site", site_json(s.site)},      {"count", s.count},
                {"bytes", s.bytes}, {"growth_bytes", s.growth_bytes}, {"paths", paths}};
            if (const auto m = site_pattern(s, learned)) row["pattern"] = patterns::to_json(*m);
            std::printf("%s\n", row.dump().c_str());
        }
        return k_exit_ok;
    }

    print_summary(scan, path.string());
    if (report.sites.empty()) {
        std::printf(args.site.empty() ? "No reachable blocks.\n"
                                      : "No reachable blocks allocated where --site matches.\n");
        return k_exit_ok;
    }
    std::printf("Holders (bytes reached first through each variable or root, biggest first):\n");
    for (size_t i = 0; i < report.holders.size() && i < 10; ++i) {
        const auto& h = report.holders[i];
        std::printf("  %12s in %-16s %s\n", bytes_text(h.bytes).c_str(),
                    blocks_text(h.count).c_str(), util::terminal_safe(h.root).c_str());
    }
    if (report.holders.size() > 10)
        std::printf("  ... and %zu more roots\n", report.holders.size() - 10);
    std::printf("\n");
    for (const auto& s : report.sites) {
        for (const auto& line : heapscan::site_lines(s, base.has_value(), max_paths))
            std::printf("%s\n", util::terminal_safe(line).c_str());
        if (const auto m = site_pattern(s, learned)) {
            std::printf("  %s\n", util::terminal_safe(patterns::describe(*m)).c_str());
        }
        std::printf("\n");
    }
    if (report.sites.size() < report.sites_total && args.site.empty()) {
        std::printf(
            "(%zu of %zu allocation sites shown; --top 0 shows all, --site REGEX chooses)\n",
            report.sites.size(), report.sites_total);
    }
    return k_exit_ok;
}

struct LeaksArgs {
    std::string file;
    bool json = false;
};

int run_leaks(const LeaksArgs& args) {
    const uint64_t leaked = print_leaks(scan_argument(args.file), stdout, args.json);
    std::fflush(stdout);
    return leaked > 0 ? k_exit_leak : k_exit_ok;
}

}  // namespace

uint64_t print_leaks(const std::filesystem::path& scan_path, std::FILE* out, bool json) {
    const heapscan::ScanFile scan = heapscan::read_scan_file(scan_path);
    heapscan::ScanSymbols symbols(scan);
    const auto report = heapscan::build_leaks(scan);
    std::vector<std::string> lines;
    for (const auto& e : report.entries) {
        const auto it = scan.stacks.find(e.stack);
        nlohmann::json frames = nlohmann::json::array();
        std::string text = fmt::format("{} leak of {} byte(s) in {} object(s) allocated from:\n",
                                       e.direct ? "Direct" : "Indirect", e.bytes, e.count);
        int n = 0;
        if (it != scan.stacks.end()) {
            for (uint64_t ip : it->second) {
                for (const auto& f : symbols.frames(ip)) {
                    std::string where;
                    if (!f.file.empty()) {
                        where = f.line > 0 ? fmt::format(" {}:{}", f.file, f.line) : " " + f.file;
                    } else if (!f.module.empty()) {
                        where = fmt::format(" ({}+{:#x})", f.module, f.module_offset);
                    }
                    text += fmt::format("    #{} {:#x} in {}{}\n", n++, ip + 1, f.display_name(),
                                        where);
                    frames.push_back({{"function", f.display_name()},
                                      {"file", f.file},
                                      {"line", f.line},
                                      {"module", f.module},
                                      {"address", ip + 1}});
                }
            }
        }
        if (json) {
            std::fprintf(out, "%s\n",
                         nlohmann::json{{"type", e.direct ? "direct" : "indirect"},
                                        {"bytes", e.bytes},
                                        {"objects", e.count},
                                        {"site", site_json(symbols.site(e.stack))},
                                        {"frames", frames}}
                             .dump()
                             .c_str());
        } else {
            lines.push_back(std::move(text));
        }
    }
    for (const auto& w : symbols.warnings()) warn(w);
    const uint64_t bytes = report.direct_bytes + report.indirect_bytes;
    const uint64_t count = report.direct_count + report.indirect_count;
    if (json) {
        std::fprintf(out, "%s\n",
                     nlohmann::json{{"type", "summary"},
                                    {"bytes", bytes},
                                    {"objects", count},
                                    {"direct_bytes", report.direct_bytes},
                                    {"direct_objects", report.direct_count},
                                    {"indirect_bytes", report.indirect_bytes},
                                    {"indirect_objects", report.indirect_count},
                                    {"pid", scan.summary.pid},
                                    {"mapping_roots", scan.summary.mapping_roots},
                                    {"mapping_root_bytes", scan.summary.mapping_root_bytes},
                                    {"loader_blocks", scan.summary.loader_blocks},
                                    {"finished_threads", scan.summary.finished_threads}}
                         .dump()
                         .c_str());
        return count;
    }
    std::fprintf(out, "=================================================================\n");
    std::fprintf(out, "==%lld==leakhunt: heap scan %s (%s)\n==%lld==%s\n",
                 static_cast<long long>(scan.summary.pid),
                 util::terminal_safe(scan_path.string()).c_str(), scan.summary.reason.c_str(),
                 static_cast<long long>(scan.summary.pid), extra_roots_text(scan.summary).c_str());
    if (count == 0) {
        std::fprintf(out, "\nNo leaks: every one of %s is reachable from a root.\n",
                     blocks_text(scan.summary.blocks).c_str());
        return 0;
    }
    // Each block is several lines of symbols and files: escape all but its line ends.
    for (const auto& l : lines) {
        std::string safe;
        for (size_t at = 0; at < l.size();) {
            const size_t eol = std::min(l.find('\n', at), l.size());
            safe += util::terminal_safe(std::string_view(l).substr(at, eol - at));
            if (eol < l.size()) safe += '\n';
            at = eol + 1;
        }
        std::fprintf(out, "\n%s", safe.c_str());
    }
    std::fprintf(out, "\nSUMMARY: leakhunt: %llu byte(s) leaked in %llu allocation(s).\n",
                 static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(count));
    return count;
}

Runner add_paths(CLI::App& app) {
    auto args = std::make_shared<PathsArgs>();
    CLI::App* cmd = app.add_subcommand(
        "paths",
        "What holds the heap: paths from roots (globals, stacks, TLS) to the blocks of "
        "the biggest allocation sites, from a heap scan; or from GC roots to the objects "
        "of the biggest or growing classes, from V8 heap snapshots or JVM heap dumps");
    cmd->add_option("snapshot", args->files,
                    "heap.PID.NNNN.scan, or the snapshot heap.PID.NNNN.pb.gz beside it (written "
                    "by `leakhunt snapshot PID --scan`), or a `leakhunt record` directory (its "
                    "latest scan); or one to three V8 .heapsnapshot files (two: the new objects "
                    "of the second; three: the leak set, new in the second and alive in the "
                    "third), or one to three JVM .hprof heap dumps (two or three: the classes that "
                    "grew from the first), or a record directory holding them")
        ->required();
    cmd->add_option("--class", args->class_name,
                    "Heap snapshots: only objects of this class (constructor)");
    cmd->add_flag("--devtools-names", args->devtools_names,
                  "V8 snapshots: classes as current Chrome DevTools names them (Function, RegExp, "
                  "<div>, {a, b} for plain objects), not its older names that memlab shows");
    cmd->add_option(
        "--patterns", args->patterns_file,
        "The patterns file to match findings against (default: the user's, see `leakhunt learn`)");
    cmd->add_option("--site", args->site,
                    "Only allocation sites with a frame whose function matches this regex");
    cmd->add_option("--base", args->base,
                    "An earlier scan of the same process: rank the sites by how much they grew "
                    "since (default: by the bytes they hold)");
    cmd->add_option("--top", args->top,
                    "Show this many allocation sites or classes (default 5; 0: all)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--paths", args->paths, "Paths shown per site or class (default 5; 0: all)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag(
        "--json", args->json,
        "JSON lines: one {\"type\":\"holder\"} per root, one {\"type\":\"site\"} per site");
    return [args] { return run_paths(*args); };
}

Runner add_leaks(CLI::App& app) {
    auto args = std::make_shared<LeaksArgs>();
    CLI::App* cmd =
        app.add_subcommand("leaks",
                           "Unreachable blocks from a heap scan, direct and indirect, reported as "
                           "LeakSanitizer does (exit 3 if any)");
    cmd->add_option("snapshot", args->file,
                    "heap.PID.NNNN.scan, the snapshot heap.PID.NNNN.pb.gz beside it, or a "
                    "`leakhunt record` directory (its latest scan)")
        ->required();
    cmd->add_flag("--json", args->json, "JSON lines: one object per leak, then a summary");
    return [args] { return run_leaks(*args); };
}

}  // namespace leakhunt::cli
