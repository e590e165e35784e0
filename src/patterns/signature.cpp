// Signatures of findings (signature.hpp): the normalisation rules, one function per runtime
// family, and the JSON form stored in a patterns file.
#include "patterns/signature.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "util/error.hpp"

namespace leakhunt::patterns {
namespace {

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

// Removes every balanced "<...>" run (template arguments).
std::string strip_angles(std::string_view s) {
    std::string out;
    int depth = 0;
    for (char c : s) {
        if (c == '<')
            ++depth;
        else if (c == '>' && depth > 0)
            --depth;
        else if (depth == 0)
            out += c;
    }
    return out;
}

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

// The class a V8 path step leads to: the text in the last parentheses ("context `x` (Map)" ->
// "Map"), or the step itself for the root ("(GC roots)").
std::string step_class(std::string_view step) {
    if (step.ends_with(" [a chain of these]")) step.remove_suffix(19);
    if (!step.ends_with(")")) return std::string(step);
    const size_t open = step.rfind(" (");
    if (open == std::string_view::npos) return std::string(step);
    return std::string(step.substr(open + 2, step.size() - open - 3));
}

// The runtime's own classes keep their names in a shape; the program's are "object".
constexpr std::array k_js_builtins = {
    "Map",          "Set",     "WeakMap",    "WeakSet",     "Array",         "Promise",
    "EventEmitter", "Timeout", "TimersList", "Immediate",   "WritableState", "Socket",
    "Server",       "Buffer",  "Uint8Array", "ArrayBuffer", "WeakRef",       "FinalizationRegistry",
    "Function",     "Error"};

std::string js_token(std::string cls) {
    if (cls.starts_with("system / ")) return "system/" + cls.substr(9);
    if (cls.starts_with("global")) return "global";  // "global / " (the global object)
    if (cls.starts_with("(")) return cls;            // (GC roots), ...
    // V8's own node types come as "(closure)", "(array)", "(object elements)": step_class took
    // off their parentheses, and their names are lower case (the program's classes and Object,
    // Map, ... are not).
    if (!cls.empty() && std::islower(static_cast<unsigned char>(cls.front())))
        return "(" + cls + ")";
    for (const char* b : k_js_builtins) {
        if (cls == b) return cls;
    }
    return "object";
}

// V8: the class each step leads to, with "[]" for an index step and "chain" for a repeated
// one; property, variable and user class names are left out.
std::vector<std::string> js_shape(const std::vector<std::string>& steps) {
    std::vector<std::string> out;
    for (size_t i = 0; i < steps.size(); ++i) {
        const std::string_view step = steps[i];
        if (i > 0 && contains(step, " [] ")) out.push_back("[]");
        out.push_back(js_token(step_class(step)));
        if (step.ends_with("[a chain of these]")) out.push_back("chain");
    }
    return out;
}

// Native: the root's kind, then what each block on the way is (the container that allocated it).
std::string native_root(std::string_view root) {
    if (root.starts_with("global")) return "global";
    if (root.starts_with("TLS") || root.starts_with("thread control block")) return "tls";
    if (root.starts_with("registers")) return "registers";
    if (root.starts_with("anonymous mapping")) return "mapping";
    if (root.starts_with("the dynamic loader")) return "loader";
    return "stack";
}

std::string native_block(std::string_view label) {
    // "std::vector::reserve in fill_sessions (holders.cpp:60)": the part before " in " is the
    // library function that allocated for the program's function.
    const size_t in = label.find(" in ");
    const std::string_view via = in == std::string_view::npos ? label : label.substr(0, in);
    struct Rule {
        const char* needle;
        const char* token;
    };
    static constexpr std::array k_rules = {
        Rule{"_Hashtable", "hash"},     Rule{"unordered_", "hash"}, Rule{"_Rb_tree", "tree"},
        Rule{"std::map", "tree"},       Rule{"std::set", "tree"},   Rule{"vector", "vector"},
        Rule{"deque", "deque"},         Rule{"_List", "list"},      Rule{"std::list", "list"},
        Rule{"basic_string", "string"}, Rule{"shared", "shared"}};
    for (const Rule& r : k_rules) {
        if (contains(via, r.needle)) return r.token;
    }
    return "block";
}

std::vector<std::string> native_shape(const std::vector<std::string>& steps) {
    std::vector<std::string> out;
    for (size_t i = 0; i < steps.size(); ++i) {
        out.push_back(i == 0 ? native_root(steps[i]) : native_block(steps[i]));
    }
    return out;
}

// The root of a Java or Python path, by kind: "class com.example.App" (its statics), "thread
// main", "JNI global", "module `app`", "class `Cache`"; a Python local root is the frame's code.
std::string managed_root(std::string_view runtime, std::string_view step) {
    if (step.starts_with("(")) return std::string(step);  // (GC roots)
    if (runtime == "java") {
        for (const char* kind : {"class", "thread", "JNI", "Java frame", "native stack",
                                 "sticky class", "monitor used", "thread object"}) {
            if (step.starts_with(kind)) return kind;
        }
        return "root";
    }
    if (step.starts_with("module ")) return "module";
    if (step.starts_with("class ")) return "class";
    return "frame";
}

// Java and Python graphs: the root's kind, "static" before a static field, and the runtime's
// container classes (java.util.HashMap, dict, list) are kept; the program's classes become
// "object".
std::vector<std::string> managed_shape(std::string_view runtime,
                                       const std::vector<std::string>& steps) {
    std::vector<std::string> out;
    for (size_t i = 0; i < steps.size(); ++i) {
        if (i == 0 && !steps[0].ends_with(")")) {
            out.push_back(managed_root(runtime, steps[0]));
            continue;
        }
        std::string cls = step_class(steps[i]);
        const bool runtime_class =
            runtime == "java"
                ? (cls.starts_with("java.") || cls.starts_with("jdk.") || cls.starts_with("("))
                : (cls == "dict" || cls == "list" || cls == "set" || cls == "module" ||
                   cls == "function" || cls == "cell" || cls == "tuple" ||
                   cls.starts_with("functools.") || cls.starts_with("("));
        if (i > 0 && contains(steps[i], " [] ")) out.push_back("[]");
        if (steps[i].starts_with("static field")) out.push_back("static");
        out.push_back(runtime_class ? cls : "object");
    }
    return out;
}

}  // namespace

std::string normalise_site(std::string_view site) {
    std::string s = trim(site);
    // A DOM element as DevTools names it ("<div id=x>", "Detached <div class=y>"): its tag, not a
    // template argument list.
    if (const size_t lt = s.find('<');
        lt != std::string::npos && (lt == 0 || std::string_view(s).substr(0, lt) == "Detached ")) {
        const size_t end = s.find_first_of(" >", lt + 1);
        return s.substr(0, end == std::string::npos ? s.size() : end) + ">";
    }
    if (const size_t clone = s.find(" [clone"); clone != std::string::npos) s.resize(clone);
    s = strip_angles(s);
    // An argument list: the last top-level "(...)" that follows a name.
    if (const size_t open = s.find('('); open != std::string::npos && open > 0) s.resize(open);
    return trim(s);
}

std::vector<std::string> holder_shape(std::string_view runtime,
                                      const std::vector<std::string>& steps) {
    if (steps.empty()) return {};
    if (runtime == "node") return js_shape(steps);
    if (runtime == "java" || runtime == "python") return managed_shape(runtime, steps);
    return native_shape(steps);
}

Signature signature_of(const Finding& finding) {
    return {finding.runtime, normalise_site(finding.site),
            holder_shape(finding.runtime, finding.holder_steps)};
}

nlohmann::json to_json(const Signature& s) {
    return {{"runtime", s.runtime}, {"site", s.site}, {"holder", s.holder}};
}

Signature signature_from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw util::Error("{}: the signature is not an object", where);
    const auto text = [&](const char* field) {
        const auto it = j.find(field);
        if (it == j.end()) return std::string();
        if (!it->is_string()) throw util::Error("{}: field `{}` is not a string", where, field);
        return it->get<std::string>();
    };
    Signature s;
    s.runtime = text("runtime");
    if (s.runtime.empty()) throw util::Error("{}: field `runtime` is missing or empty", where);
    s.site = text("site");
    if (const auto h = j.find("holder"); h != j.end()) {
        if (!h->is_array()) throw util::Error("{}: field `holder` is not a list of strings", where);
        for (const auto& t : *h) {
            if (!t.is_string())
                throw util::Error("{}: field `holder` is not a list of strings", where);
            s.holder.push_back(t.get<std::string>());
        }
    }
    return s;
}

std::string shape_text(const std::vector<std::string>& holder) {
    std::string out;
    for (const auto& t : holder) out += (out.empty() ? "" : " > ") + t;
    return out;
}

}  // namespace leakhunt::patterns
