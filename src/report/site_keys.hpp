// How each runtime's site becomes a trend::SiteKey: the sentence's label of an allocation site (a
// native function and the callee that allocated for it, a JS function, a Python line), of a JVM
// class and of a group of Go goroutines, and which classes rank last. The trend engine reads only
// the label and the rank; this is where the runtimes are told apart.
#pragma once

#include <string>
#include <string_view>

#include "trend/suspects.hpp"

namespace leakhunt::report {

// "std::string allocated in ns::Cache::insert (cache.cpp:42)": the callee that allocated, else
// "memory" (unit "bytes") or "objects"; the function without its parameters (sentences stay
// short), then the file and line when known.
std::string allocation_label(const trend::SiteKey& key, std::string_view unit);

// "class com.example.Session".
std::string class_label(const trend::SiteKey& key);

// "blocked in chan receive in main.handleRequest.func1 (main.go:42)", "running in F", "in a
// system call in F": the file's base name keeps the sentence short (the row keeps the path).
std::string goroutine_label(const trend::SiteKey& key);

// A module of the JDK itself ("java.base@17.0.15", "jdk.internal.vm.ci@17"): Java SE's modules
// are named java.*, the JDK's own jdk.* (JEP 200). Their classes rank last.
bool is_jdk_module(std::string_view module);

}  // namespace leakhunt::report
