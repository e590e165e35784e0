// without_parameters: one left-to-right scan with the depth of <...> and [...].
#include "util/function_name.hpp"

#include <cctype>

namespace leakhunt::util {
namespace {

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$' ||
           static_cast<unsigned char>(c) >= 0x80;
}

// The length of the operator symbol at the front of `s` ("()", "<<=", "->", "new[]"), 0 when
// there is none (a conversion "operator bool" is an ordinary name).
size_t operator_symbol_length(std::string_view s) {
    size_t n = 0;
    while (n < s.size() && s[n] == ' ') ++n;
    if (s.substr(n).starts_with("()") || s.substr(n).starts_with("[]")) return n + 2;
    const size_t start = n;
    while (n < s.size() &&
           std::string_view("<>=!+-*/%^&|~,").find(s[n]) != std::string_view::npos) {
        ++n;
    }
    return n > start ? n : 0;
}

}  // namespace

std::string_view without_parameters(std::string_view function) {
    constexpr std::string_view k_operator = "operator";
    int depth = 0;  // of <...> and [...]
    for (size_t i = 0; i < function.size(); ++i) {
        const char c = function[i];
        if (function.substr(i).starts_with(k_operator) &&
            (i == 0 || !is_name_char(function[i - 1]))) {
            const size_t end = i + k_operator.size();
            const size_t next = end + operator_symbol_length(function.substr(end));
            if (next > end && depth == 0 && next < function.size() && function[next] == '(') {
                return function.substr(0, next);  // "operator<(...)": the list follows the symbol
            }
            i = next - 1;  // the loop's ++i
            continue;
        }
        if (c == '<' || c == '[') {
            ++depth;
        } else if ((c == '>' || c == ']') && depth > 0) {
            --depth;
        } else if (c == '(' && depth == 0 && i > 0) {
            const char before = function[i - 1];
            if (is_name_char(before) || before == '>' || before == ']' || before == ')') {
                return function.substr(0, i);
            }
        }
    }
    return function;
}

}  // namespace leakhunt::util
