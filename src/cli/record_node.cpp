// `leakhunt record` for node (record_runtime.hpp).
#include "cli/record_runtime.hpp"

#include "util/error.hpp"

namespace leakhunt::cli {

int record_node(const RuntimeRecordArgs&) {
    throw util::Error("recording a node program is not available in this build; record it as a "
                      "native program with --runtime native");
}

}  // namespace leakhunt::cli
