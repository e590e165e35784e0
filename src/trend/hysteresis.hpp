// Hysteresis for a verdict that is judged again and again (`watch` re-judges a target every few
// samples). Near a decision boundary the engine can say leak, inconclusive, leak on three samples
// in a row; a live view, the JSON lines and an --on-leak hook should see one change, not ten.
//
// The state machine: the shown verdict starts inconclusive ("not known yet"). The first definite
// judgement (leak, bounded or healthy) is shown at once, so that detection is not delayed. After
// that, even back to inconclusive, the shown verdict changes only when `confirm` judgements in a
// row disagree with it, and then becomes the latest of them; a judgement that agrees resets the
// count. So
//   leak, inconclusive, leak, inconclusive, leak          shows leak throughout (one change),
//   leak, healthy, healthy, healthy                        shows leak, then healthy at the 3rd.
// Not thread-safe; one per judged target.
#pragma once

#include <cstddef>

#include "trend/verdict.hpp"

namespace leakhunt::trend {

// Judgements in a row that must disagree with the shown verdict before it changes.
inline constexpr size_t k_hysteresis_confirm = 3;

class VerdictHysteresis {
  public:
    explicit VerdictHysteresis(size_t confirm = k_hysteresis_confirm) : m_confirm(confirm) {}

    // Feeds one judgement; true when the shown verdict changed.
    bool update(Verdict judged);

    // Feeds a.verdict and replaces it with the shown verdict; when the two differ, the first
    // evidence sentence says what was judged and why it is not shown yet. True when the shown
    // verdict changed.
    bool apply(Assessment& a);

    Verdict verdict() const { return m_shown; }
    // Judgements in a row so far that disagree with the shown verdict.
    size_t disagreeing() const { return m_disagreeing; }

  private:
    Verdict m_shown = Verdict::inconclusive;
    size_t m_disagreeing = 0;
    bool m_decided = false;  // a definite verdict was shown once
    size_t m_confirm;
};

}  // namespace leakhunt::trend
