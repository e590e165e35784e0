// Joining two aggregates by row name.
#include "symbolize/aggregate_diff.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace leakhunt::symbolize {

std::vector<AggregateDiffRow> diff_aggregates(const Aggregate& base, const Aggregate& cur,
                                              std::string_view sample_type) {
    std::map<std::string, AggregateDiffRow> rows;
    for (const auto& r : cur.rows) {
        AggregateDiffRow& d = rows[r.name];
        d.row = r;
        d.cur += r.flat;
    }
    for (const auto& r : base.rows) {
        AggregateDiffRow& d = rows[r.name];
        if (d.row.name.empty()) d.row = r;
        d.base += r.flat;
    }
    std::vector<AggregateDiffRow> out;
    for (auto& [name, d] : rows) {
        d.delta = d.cur;
        d.delta -= d.base;
        if (d.delta == HeapValues{}) continue;
        out.push_back(std::move(d));
    }
    std::sort(out.begin(), out.end(), [&](const AggregateDiffRow& a, const AggregateDiffRow& b) {
        const int64_t da = a.delta.get(sample_type);
        const int64_t db = b.delta.get(sample_type);
        if (da != db) return da > db;
        return a.row.name < b.row.name;
    });
    return out;
}

}  // namespace leakhunt::symbolize
