// The node of an object id in a graph whose node_id is sorted after the root (node 0): a node is
// its id's rank, so the map from ids to nodes costs no more than the ids themselves. A bucket
// index over the ids (by the id's offset from the lowest, at most k_buckets of them: 4 MB)
// narrows each binary search to a few ids; the HPROF reader looks up every reference twice, so
// the lookup is inline. Read-only after build(): thread-safe to read.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

class SortedIdIndex {
  public:
    // Indexes `ids` (ids[0] the root's, the rest sorted ascending); find() takes the same ids.
    void build(const std::vector<uint64_t>& ids) {
        m_bucket_first.clear();
        if (ids.size() < 2) return;
        m_id_low = ids[1];
        const uint64_t span = ids.back() - m_id_low;
        m_bucket_shift = 0;
        while ((span >> m_bucket_shift) >= k_buckets) ++m_bucket_shift;
        const uint64_t buckets = (span >> m_bucket_shift) + 1;
        m_bucket_first.assign(buckets + 1, 0);
        // m_bucket_first[b]: the first index whose id is in bucket b or later.
        size_t i = 1;
        for (uint64_t b = 0; b <= buckets; ++b) {
            while (i < ids.size() && ((ids[i] - m_id_low) >> m_bucket_shift) < b) ++i;
            m_bucket_first[b] = static_cast<NodeIndex>(i);
        }
    }

    // The node whose id is `id`, or k_no_node.
    NodeIndex find(const std::vector<uint64_t>& ids, uint64_t id) const {
        if (id < m_id_low || m_bucket_first.empty()) return k_no_node;
        const uint64_t b = (id - m_id_low) >> m_bucket_shift;
        if (b + 1 >= m_bucket_first.size()) return k_no_node;
        const auto lo = ids.begin() + m_bucket_first[b];
        const auto hi = ids.begin() + m_bucket_first[b + 1];
        const auto it = std::lower_bound(lo, hi, id);
        if (it == hi || *it != id) return k_no_node;
        return static_cast<NodeIndex>(it - ids.begin());
    }

  private:
    static constexpr uint64_t k_buckets = uint64_t{1} << 20;
    std::vector<NodeIndex> m_bucket_first;  // k_buckets + 1 entries at most
    uint64_t m_id_low = 0;
    unsigned m_bucket_shift = 0;
};

}  // namespace leakhunt::heapgraph
