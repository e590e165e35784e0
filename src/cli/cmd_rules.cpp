// `leakhunt rules`: Prometheus alerting rules over the metrics of `leakhunt serve`.
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "server/rules.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::cli {
namespace {

struct RulesArgs {
    std::string for_ = "30m";
    double min_confidence = 0.8;
    std::string limit_within = "6h";
    std::string output;
};

int run_rules(const RulesArgs& args) {
    server::RulesOptions o;
    o.for_s = parse_duration_option("--for", args.for_);
    o.limit_within_s = parse_duration_option("--limit-within", args.limit_within);
    if (!(args.min_confidence >= 0 && args.min_confidence <= 1)) {
        throw util::UsageError("--min-confidence {} must be between 0 and 1", args.min_confidence);
    }
    o.min_confidence = args.min_confidence;
    const std::string yaml = server::alerting_rules_yaml(o);
    if (args.output.empty() || args.output == "-") {
        std::fwrite(yaml.data(), 1, yaml.size(), stdout);
    } else {
        util::write_file_atomic(args.output, yaml);
    }
    return k_exit_ok;
}

}  // namespace

Runner add_rules(CLI::App& app) {
    auto args = std::make_shared<RulesArgs>();
    CLI::App* cmd = app.add_subcommand(
        "rules", "Prometheus alerting rules (YAML) over the metrics of `leakhunt serve`");
    cmd->add_option("--for", args->for_, "How long a leak verdict must hold before alerting")
        ->capture_default_str();
    cmd->add_option("--min-confidence", args->min_confidence,
                    "Minimum confidence of the leak verdict, 0 to 1")
        ->capture_default_str();
    cmd->add_option("--limit-within", args->limit_within,
                    "Alert when the projected memory limit is closer than this")
        ->capture_default_str();
    cmd->add_option("-o,--out,--output", args->output, "Write the rules to FILE (default: stdout)");
    return [args] { return run_rules(*args); };
}

}  // namespace leakhunt::cli
