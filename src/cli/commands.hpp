// The subcommands. Each add_* registers its options on `app` and returns the function that runs
// it after parsing; the function returns the exit code.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace leakhunt::cli {

using Runner = std::function<int()>;

Runner add_classify(CLI::App& app);
Runner add_watch(CLI::App& app);
Runner add_soak(CLI::App& app);
Runner add_history(CLI::App& app);
Runner add_top(CLI::App& app);
Runner add_record(CLI::App& app);
Runner add_snapshot(CLI::App& app);
Runner add_report(CLI::App& app);
Runner add_serve(CLI::App& app);
Runner add_rules(CLI::App& app);
Runner add_scan(CLI::App& app);
Runner add_paths(CLI::App& app);
Runner add_leaks(CLI::App& app);
Runner add_symbolize(CLI::App& app);
Runner add_diff(CLI::App& app);
Runner add_suspects(CLI::App& app);
Runner add_hunt(CLI::App& app);
Runner add_learn(CLI::App& app);

}  // namespace leakhunt::cli
