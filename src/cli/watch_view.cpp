// Rendering of the live view.
#include "cli/watch_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "report/terminal.hpp"
#include "report/verdict_report.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

std::string row(const watch::TargetState& t, const report::Style& style) {
    const auto& rss = t.series.columns.at("rss_bytes");
    std::vector<double> recent;
    for (size_t i = rss.size() > 240 ? rss.size() - 240 : 0; i < rss.size(); ++i) {
        if (std::isfinite(rss[i])) recent.push_back(rss[i]);
    }
    std::string rss_text = recent.empty() ? "-" : util::format_bytes(recent.back());
    std::string growth = "-";
    if (t.live.verdict == trend::Verdict::leak || t.live.verdict == trend::Verdict::bounded) {
        growth = util::format_rate(t.live.growth_bytes_per_hour);
    }
    std::string pid = t.pid != 0 ? std::to_string(t.pid) : "-";
    std::string name = util::terminal_safe(t.display);
    if (name.size() > 28) {
        size_t cut = 27;  // not inside a UTF-8 sequence
        while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
        name = name.substr(0, cut) + "~";
    }
    std::string verdict = t.ended ? t.status : std::string(trend::to_string(t.live.verdict));
    std::string verdict_col = fmt::format("{:<13}", verdict);
    if (!t.ended) {
        std::string word(trend::to_string(t.live.verdict));
        verdict_col = report::verdict_word(t.live.verdict, style) +
                      std::string(13 > word.size() ? 13 - word.size() : 1, ' ');
    }
    return fmt::format("{:<28} {:>7} {:>10} {:>14} {}{:>7} {}", name, pid, rss_text, growth,
                       verdict_col, t.series.size(), report::sparkline(recent, 30));
}

}  // namespace

std::string WatchView::table(const watch::Watcher& w, double now) const {
    const report::Style style{m_mode == ViewMode::tty ? report::Color::on : report::Color::off};
    std::string out =
        style.bold(fmt::format("{:<28} {:>7} {:>10} {:>14} {:<13}{:>7} {}", "TARGET", "PID", "RSS",
                               "GROWTH", "VERDICT", "SAMPLES", "TREND")) +
        "\n";
    for (const auto& t : w.targets()) out += row(t, style) + "\n";
    out += style.dim(fmt::format("watching for {} · {} targets · ^C to stop",
                                 util::format_duration(now - w.t0()), w.targets().size())) +
           "\n";
    return out;
}

void WatchView::update(watch::Watcher& w, double now) {
    // Notices quote process names and command lines: untrusted.
    auto notices = w.take_notices();
    for (auto& n : notices) n = util::terminal_safe(n);
    if (m_mode == ViewMode::quiet) {
        for (const auto& n : notices) std::fprintf(stderr, "leakhunt: %s\n", n.c_str());
        std::fflush(stdout);  // the tick's JSON lines, whole
        return;
    }
    if (m_mode == ViewMode::tty) {
        std::string out;
        if (m_lines > 0) out += fmt::format("\x1b[{}F\x1b[J", m_lines);
        for (const auto& n : notices) out += "leakhunt: " + n + "\n";
        std::string tbl = table(w, now);
        m_lines = static_cast<size_t>(std::count(tbl.begin(), tbl.end(), '\n'));
        out += tbl;
        std::fputs(out.c_str(), stdout);
        std::fflush(stdout);
        return;
    }
    // Plain lines: events at once, the state of every target when its verdict changes or every
    // 10 seconds.
    for (const auto& n : notices) std::printf("leakhunt: %s\n", n.c_str());
    const bool periodic = now - m_last_lines_at >= 10;
    const report::Style plain{};
    for (const auto& t : w.targets()) {
        auto it = m_shown.find(t.key);
        const bool changed = it == m_shown.end() || it->second != t.live.verdict;
        if ((changed && !t.series.t.empty()) || (periodic && !t.ended)) {
            std::printf("%s\n", row(t, plain).c_str());
            m_shown[t.key] = t.live.verdict;
        }
    }
    if (periodic) m_last_lines_at = now;
    std::fflush(stdout);
}

void WatchView::close() {
    m_lines = 0;
}

watch::LoopEnd run_watch_loop(watch::Watcher& w, WatchView& view, watch::LoopOptions options) {
    options.stop_signals = stop_signals();
    options.on_tick = [&](double now) { view.update(w, now); };
    const watch::LoopEnd end = watch::run_loop(w, options);
    view.close();
    return end;
}

}  // namespace leakhunt::cli
