// Class histograms, their diff, and leak sets; see histogram.hpp.
#include "heapgraph/histogram.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>

namespace leakhunt::heapgraph {

bool counted(const Graph& g, NodeIndex n) {
    return n != k_root && (g.self_size[n] != 0 || g.node_types[g.node_type[n]].count_empty);
}

std::vector<ClassRow> class_histogram(const Graph& g, const Dominators& d) {
    const NodeIndex n = g.node_count();
    // A dense key per class (its canonical name's row), so that the rows are as many as the
    // classes, not as the strings.
    std::vector<ClassRow> rows;
    std::unordered_map<StringIndex, uint32_t> row_of;
    NameCanon canon(g);
    std::vector<uint32_t> key(n, k_no_key);
    for (NodeIndex i = 0; i < n; ++i) {
        if (!counted(g, i)) continue;
        const StringIndex name = canon(g.class_index(i));
        const auto [it, added] = row_of.emplace(name, static_cast<uint32_t>(rows.size()));
        if (added) rows.push_back({name, 0, 0, 0});
        ClassRow& r = rows[it->second];
        ++r.count;
        r.self_bytes += g.self_size[i];
        key[i] = it->second;
    }
    // Retained: nested instances of a class counted once, at the outermost.
    const auto retained = retained_by_key(d, key, static_cast<uint32_t>(rows.size()));
    for (size_t r = 0; r < rows.size(); ++r) rows[r].retained_bytes = retained[r];
    std::sort(rows.begin(), rows.end(), [&](const ClassRow& a, const ClassRow& b) {
        if (a.retained_bytes != b.retained_bytes) return a.retained_bytes > b.retained_bytes;
        if (a.self_bytes != b.self_bytes) return a.self_bytes > b.self_bytes;
        return g.strings.get(a.name) < g.strings.get(b.name);
    });
    return rows;
}

namespace {

// (id, node) of the counted nodes, sorted by id.
std::vector<std::pair<uint64_t, NodeIndex>> ids_of(const Graph& g) {
    std::vector<std::pair<uint64_t, NodeIndex>> out;
    for (NodeIndex i = 0; i < g.node_count(); ++i) {
        if (counted(g, i)) out.emplace_back(g.node_id[i], i);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::vector<ClassDiffRow> diff_classes(const Graph& base, const Graph& cur) {
    std::map<std::string_view, ClassDiffRow> rows;
    const auto a = ids_of(base);
    const auto b = ids_of(cur);
    for (const auto& [id, n] : a) {
        ClassDiffRow& r = rows[base.class_name(n)];
        ++r.base_count;
        r.base_bytes += base.self_size[n];
    }
    for (const auto& [id, n] : b) {
        ClassDiffRow& r = rows[cur.class_name(n)];
        ++r.cur_count;
        r.cur_bytes += cur.self_size[n];
    }
    // Merge by id: in cur only = new, in base only = deleted.
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        if (j == b.size() || (i < a.size() && a[i].first < b[j].first)) {
            ClassDiffRow& r = rows[base.class_name(a[i].second)];
            ++r.deleted_count;
            r.freed_bytes += base.self_size[a[i].second];
            ++i;
        } else if (i == a.size() || b[j].first < a[i].first) {
            ClassDiffRow& r = rows[cur.class_name(b[j].second)];
            ++r.new_count;
            r.alloc_bytes += cur.self_size[b[j].second];
            ++j;
        } else {
            ++i;
            ++j;
        }
    }
    std::vector<ClassDiffRow> out;
    for (auto& [name, r] : rows) {
        if (r.new_count == 0 && r.deleted_count == 0 && r.base_bytes == r.cur_bytes &&
            r.base_count == r.cur_count)
            continue;
        r.name = std::string(name);
        out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end(), [](const ClassDiffRow& x, const ClassDiffRow& y) {
        if (x.bytes_delta() != y.bytes_delta()) return x.bytes_delta() > y.bytes_delta();
        if (x.count_delta() != y.count_delta()) return x.count_delta() > y.count_delta();
        return x.name < y.name;
    });
    return out;
}

std::vector<NodeIndex> leak_set(const Graph& first, const Graph& second, const Graph& third) {
    std::vector<uint64_t> a, b;
    for (NodeIndex i = 0; i < first.node_count(); ++i) a.push_back(first.node_id[i]);
    for (NodeIndex i = 0; i < second.node_count(); ++i) {
        if (counted(second, i)) b.push_back(second.node_id[i]);
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::vector<uint64_t> fresh;
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(fresh));
    std::vector<NodeIndex> out;
    for (NodeIndex i = 0; i < third.node_count(); ++i) {
        if (counted(third, i) && std::binary_search(fresh.begin(), fresh.end(), third.node_id[i]))
            out.push_back(i);
    }
    return out;
}

}  // namespace leakhunt::heapgraph
