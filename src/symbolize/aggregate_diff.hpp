// The row diff behind `leakhunt diff`: two aggregates of the same granularity and sample type
// (symbolize/aggregate.hpp) joined by row name, each row's flat values in both and their
// difference, largest growth first and the shrinkers last. Pure functions; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "symbolize/aggregate.hpp"

namespace leakhunt::symbolize {

struct AggregateDiffRow {
    AggregateRow row;  // identity, from the current aggregate when it has the row
    HeapValues base;
    HeapValues cur;
    HeapValues delta;  // cur - base
};

// The rows whose flat values differ between `base` and `cur`, sorted by the delta of
// `sample_type` descending (ties by name): growth first, shrinkers last.
std::vector<AggregateDiffRow> diff_aggregates(const Aggregate& base, const Aggregate& cur,
                                              std::string_view sample_type);

}  // namespace leakhunt::symbolize
