// The verdict hysteresis state machine (see hysteresis.hpp).
#include "trend/hysteresis.hpp"

#include <fmt/format.h>

namespace leakhunt::trend {

bool VerdictHysteresis::update(Verdict judged) {
    if (judged == m_shown) {
        m_disagreeing = 0;
        return false;
    }
    // Nothing definite shown yet: the first definite verdict is shown at once.
    if (!m_decided) {
        m_shown = judged;
        m_decided = true;
        return true;
    }
    if (++m_disagreeing < m_confirm) return false;
    m_shown = judged;
    m_disagreeing = 0;
    return true;
}

bool VerdictHysteresis::apply(Assessment& a) {
    const Verdict judged = a.verdict;
    const bool changed = update(judged);
    if (judged != m_shown) {
        a.evidence.insert(
            a.evidence.begin(),
            fmt::format("still {}: the latest judgement says {}, {} of {} in a row "
                        "needed to change the verdict (the evidence below is the "
                        "latest judgement's)",
                        to_string(m_shown), to_string(judged), m_disagreeing, m_confirm));
        a.verdict = m_shown;
    }
    return changed;
}

}  // namespace leakhunt::trend
