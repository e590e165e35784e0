// The report page's front-end, bundled from web/ by esbuild at build time (web/build.mjs writes
// the generated web_assets.cpp): one JS and one CSS file, inlined into every HTML report so that
// it opens without a network. Thread-safe (static data).
#pragma once

#include <string_view>

namespace leakhunt::report {

std::string_view web_js();
std::string_view web_css();

}  // namespace leakhunt::report
