// The cold parts of the HPROF format: reading the next chunk of the file, the file header.
#include "heapgraph/hprof_format.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace leakhunt::heapgraph {

void HprofInput::refill(size_t n) {
    if (m_fd < 0) fail("the input ends early");  // cannot happen: the limit is within the input
    std::memmove(m_buf.data(), m_buf.data() + m_pos, m_len - m_pos);
    m_base += m_pos;
    m_len -= m_pos;
    m_pos = 0;
    while (m_len < n) {
        const ssize_t r = ::pread(m_fd, m_buf.data() + m_len, m_buf.size() - m_len,
                                  static_cast<off_t>(m_base + m_len));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw util::Error("cannot read {}: {}", m_where, util::errno_text(errno));
        if (r == 0) fail("the file ended early (was it truncated while being read?)");
        m_len += static_cast<size_t>(r);
    }
}

unsigned read_hprof_header(HprofInput& in) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(in.remaining(), 31));
    const std::string_view h(reinterpret_cast<const char*>(in.take(n, "the header")), n);
    const size_t nul = h.find('\0');
    const std::string_view magic = h.substr(0, nul);
    if (nul == std::string_view::npos ||
        (magic != "JAVA PROFILE 1.0.2" && magic != "JAVA PROFILE 1.0.1")) {
        in.seek(0);
        in.fail("no HPROF header (\"JAVA PROFILE 1.0.2\")");
    }
    in.seek(nul + 1);
    const unsigned id = in.u4("the id size");
    if (id != 4 && id != 8) in.fail("an id size of {} (HPROF uses 4 or 8)", id);
    in.u8("the header's time");
    return id;
}

}  // namespace leakhunt::heapgraph
