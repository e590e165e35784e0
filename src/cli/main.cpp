// leakhunt: the command-line entry point. Parses the subcommand, runs it, and turns errors into
// one line and an exit code (DESIGN.md: 1 error, 2 usage, 3 leak found).
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"

namespace {

// CLI11's message as one sentence of ours: "Could not convert: --depth = x" says neither what
// was expected nor where; the other messages name the option already.
std::string parse_error_text(const CLI::ParseError& e) {
    std::string text = e.what();
    constexpr std::string_view k_convert = "Could not convert: ";
    if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr && text.starts_with(k_convert)) {
        const std::string rest = text.substr(k_convert.size());
        const size_t eq = rest.find(" = ");
        if (eq != std::string::npos) {
            return fmt::format("{} '{}': not a number (give a whole number)", rest.substr(0, eq),
                               rest.substr(eq + 3));
        }
    }
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace leakhunt;
    CLI::App app{"leakhunt: finds memory leaks in long-running Linux processes", "leakhunt"};
    app.set_version_flag("--version", "leakhunt 0.1.0");
    app.require_subcommand(1);
    std::map<CLI::App*, cli::Runner> runners;
    try {
        for (auto add :
             {cli::add_watch, cli::add_classify, cli::add_soak, cli::add_history, cli::add_record,
              cli::add_snapshot, cli::add_top, cli::add_report, cli::add_serve, cli::add_rules,
              cli::add_scan, cli::add_paths, cli::add_leaks, cli::add_symbolize, cli::add_diff,
              cli::add_suspects, cli::add_hunt, cli::add_learn}) {
            size_t before = app.get_subcommands({}).size();
            cli::Runner run = add(app);
            runners[app.get_subcommands({}).at(before)] = std::move(run);
        }
        // Everything after the first "--" is the command to start (watch, soak).
        int own = argc;
        for (int i = 1; i < argc; ++i) {
            if (std::string_view(argv[i]) == "--") {
                own = i;
                cli::set_trailing_command(std::vector<std::string>(argv + i + 1, argv + argc));
                break;
            }
        }
        try {
            app.parse(own, argv);
        } catch (const CLI::CallForHelp& e) {
            return app.exit(e);
        } catch (const CLI::CallForAllHelp& e) {
            return app.exit(e);
        } catch (const CLI::CallForVersion& e) {
            return app.exit(e);
        } catch (const CLI::ParseError& e) {
            std::string help = "leakhunt --help";
            for (const CLI::App* sub : app.get_subcommands())
                help = "leakhunt " + sub->get_name() + " --help";
            std::fprintf(stderr, "leakhunt: usage error: %s (see %s)\n",
                         util::terminal_safe(parse_error_text(e)).c_str(), help.c_str());
            return cli::k_exit_usage;
        }
        for (auto& [sub, run] : runners) {
            if (sub->parsed()) return run();
        }
        return cli::k_exit_usage;
    } catch (const util::UsageError& e) {
        std::fprintf(stderr, "leakhunt: usage error: %s\n", util::terminal_safe(e.what()).c_str());
        return cli::k_exit_usage;
    } catch (const util::Error& e) {
        std::fprintf(stderr, "leakhunt: error: %s\n", util::terminal_safe(e.what()).c_str());
        return cli::k_exit_error;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "leakhunt: internal error: %s (please report this)\n",
                     util::terminal_safe(e.what()).c_str());
        return cli::k_exit_error;
    }
}
