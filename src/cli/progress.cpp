// The progress bar.
#include "cli/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "util/units.hpp"

namespace leakhunt::cli {

Progress Progress::on_stderr(std::string label, uint64_t total, Unit unit) {
    const char* term = std::getenv("TERM");
    const bool tty = ::isatty(2) == 1 && !(term != nullptr && std::string_view(term) == "dumb");
    Sink sink;
    if (tty) {
        sink = [](std::string_view text) {
            std::fwrite(text.data(), 1, text.size(), stderr);
            std::fflush(stderr);
        };
    }
    return Progress(
        std::move(label), total, unit, std::move(sink), [] { return Clock::now(); }, Config{});
}

Progress::Progress(std::string label, uint64_t total, Unit unit, Sink sink, Now now, Config config)
    : m_label(std::move(label)),
      m_total(total),
      m_unit(unit),
      m_sink(std::move(sink)),
      m_now(std::move(now)),
      m_config(config) {
    if (m_now) m_start = m_now();
}

Progress::~Progress() {
    finish();
}

void Progress::set_label(std::string label) {
    m_label = std::move(label);
}

void Progress::set_total(uint64_t total) {
    m_total = total;
}

void Progress::update(uint64_t done) {
    m_done = done;
    maybe_draw();
}

void Progress::advance(uint64_t n) {
    update(m_done + n);
}

std::function<void(uint64_t, uint64_t)> Progress::callback() {
    return [this](uint64_t done, uint64_t total) {
        m_total = total;
        update(done);
    };
}

std::string Progress::line() const {
    auto amount = [this](uint64_t v) {
        return m_unit == Unit::bytes ? util::format_bytes(static_cast<double>(v))
                                     : std::to_string(v);
    };
    if (m_total == 0) return fmt::format("{} {}", m_label, amount(m_done));
    const double fraction =
        std::min(1.0, static_cast<double>(m_done) / static_cast<double>(m_total));
    const std::string counts =
        fmt::format(" {}/{} ({:.0f}%)", amount(m_done), amount(m_total), fraction * 100);
    const int bar = m_config.width - static_cast<int>(m_label.size() + counts.size()) - 4;
    if (bar < 10) return m_label + counts;
    const auto full = static_cast<size_t>(fraction * bar);
    return fmt::format("{} [{}{}]{}", m_label, std::string(full, '#'),
                       std::string(static_cast<size_t>(bar) - full, '-'), counts);
}

void Progress::maybe_draw() {
    if (!m_sink || m_finished) return;
    const auto now = m_now();
    if (now - m_start < m_config.delay) return;
    if (m_drawn && now - m_last_draw < m_config.interval) return;
    m_sink("\r" + line() + "\x1b[K");
    m_drawn = true;
    m_last_draw = now;
}

void Progress::finish() {
    if (m_finished) return;
    m_finished = true;
    if (m_drawn && m_sink) m_sink("\r\x1b[K");
}

}  // namespace leakhunt::cli
