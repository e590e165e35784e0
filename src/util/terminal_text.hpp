// Untrusted text made safe for a terminal. Process names, command lines, symbols, Prometheus
// labels and file names are chosen by whoever runs or builds the program being examined; written
// raw, an ESC or a C1 control in them is obeyed by the terminal (clear the screen, set the window
// title, rewrite earlier lines, ...). Every place that writes such text to a terminal passes it
// through terminal_safe() first, as the HTML report passes it through html_escape().
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace leakhunt::util {

// `text` with every control character shown in a visible escaped form: ESC as \e, BEL as \a,
// BS \b, TAB \t, LF \n, CR \r, other C0 controls and DEL as \xNN; C1 controls (U+0080..U+009F)
// and the bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069), which reorder
// what is shown, as \uNNNN; bytes that are not valid UTF-8 as \xNN. Printable UTF-8 (and
// backslash) is kept as it is, so ordinary names come back unchanged.
std::string terminal_safe(std::string_view text);

}  // namespace leakhunt::util
