// Function names as profiles carry them, shortened for a sentence: C++ demangled names
// ("ns::Cache::insert(std::string const&) const") and Go's ("main.(*server).handleLookup",
// "main.Map[go.shape.int].Get", "main.main.func1"). One rule for every place that shortens a
// name. Pure functions; thread-safe.
#pragma once

#include <string_view>

namespace leakhunt::util {

// `function` without its parameter list and what follows it (" const", "::{lambda()#1}"):
// "ns::Cache::insert(std::string const&) const" -> "ns::Cache::insert". The list starts at the
// first '(' outside <...> and [...] that follows a character of a name; a '(' at the start or
// after '.', ':' or another '(' belongs to the name (Go's method receivers
// "main.(*server).handleLookup", C++'s "(anonymous namespace)::f"), and so do the brackets of an
// operator's name ("operator()", "operator<", "operator->"). A name with no list is returned whole.
std::string_view without_parameters(std::string_view function);

}  // namespace leakhunt::util
