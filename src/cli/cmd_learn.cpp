// `leakhunt learn DIR --title T --fix "..."`: stores the signature of the finding `hunt` wrote in
// DIR (finding.json) as a pattern in the patterns file, so that later findings of the same shape
// are named (patterns/patterns.hpp).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/hunt_findings.hpp"
#include "patterns/patterns.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"

namespace leakhunt::cli {
namespace {

struct LearnArgs {
    std::string dir;
    std::string title;
    std::string fix;
    std::string link;
    std::string patterns_file;
};

int run(const LearnArgs& args) {
    if (args.title.empty() || args.fix.empty()) {
        throw util::UsageError("learn needs --title and --fix (what the leak was, what fixed it)");
    }
    const auto finding = read_finding(args.dir);
    if (!finding) {
        throw util::Error(
            "{} has no finding.json (run `leakhunt hunt PID -o {}` first: learn "
            "stores what a hunt found)",
            args.dir, args.dir);
    }
    patterns::Pattern p;
    p.title = args.title;
    p.fix = args.fix;
    p.link = args.link;
    p.signature = patterns::signature_of(*finding);
    p.learned_from = std::filesystem::absolute(args.dir).string();
    if (p.signature.site.empty() && p.signature.holder.empty()) {
        throw util::Error(
            "the finding in {} has neither a suspect site nor a holder path: there is "
            "nothing to recognise it by",
            args.dir);
    }
    const std::filesystem::path file = args.patterns_file.empty()
                                           ? patterns::default_patterns_path()
                                           : std::filesystem::path(args.patterns_file);
    std::vector<patterns::Pattern> all = patterns::load_patterns(file);
    p.id = patterns::next_id(all);
    all.push_back(p);
    patterns::save_patterns(file, all);
    std::printf("%s `%s` learned into %s\n  runtime %s, site %s, holder %s\n", p.id.c_str(),
                util::terminal_safe(p.title).c_str(), util::terminal_safe(file.string()).c_str(),
                p.signature.runtime.c_str(),
                util::terminal_safe(p.signature.site.empty() ? "-" : p.signature.site).c_str(),
                util::terminal_safe(
                    p.signature.holder.empty() ? "-" : patterns::shape_text(p.signature.holder))
                    .c_str());
    return k_exit_ok;
}

}  // namespace

Runner add_learn(CLI::App& app) {
    auto args = std::make_shared<LearnArgs>();
    CLI::App* cmd = app.add_subcommand(
        "learn", "Store a hunt's finding as a pattern, so the same leak shape is named next time");
    cmd->add_option("dir", args->dir, "A `leakhunt hunt -o DIR` directory")->required();
    cmd->add_option("--title", args->title,
                    "What the leak was, e.g. 'session cache without eviction'");
    cmd->add_option("--fix", args->fix, "What fixed it, e.g. 'bounding it to 10k entries (LRU)'");
    cmd->add_option("--link", args->link, "An issue or commit URL");
    cmd->add_option("--patterns", args->patterns_file,
                    "Patterns file (default $XDG_DATA_HOME/leakhunt/patterns.json or "
                    "~/.local/share/leakhunt/patterns.json); share one in a repository");
    return [args] { return run(*args); };
}

}  // namespace leakhunt::cli
