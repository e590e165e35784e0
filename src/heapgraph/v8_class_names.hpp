// Current Chrome DevTools' class names for V8 heap graphs (its HeapSnapshot's calculateObjectNames
// and interface definitions), beside the names the reader gives by default: those of DevTools'
// older Summary view, which memlab 2.0.5 shows too (v8_snapshot.hpp), and which the oracle checks.
//
// The current names:
// - a closure's class is "Function" (not "(closure)"), a regexp's "RegExp" (not "(regexp)");
// - an element named with its attributes ("<div id=\"a\">", "Detached <div class=\"x\">") is of
//   the class of its tag ("<div>", "Detached <div>");
// - plain objects (class "Object") are grouped by their properties: every plain object's property
//   names in order (not `__proto__`) make a candidate name "{id, user, roles}" (names up to about
//   120 characters; one with `,`, quotes or braces in JSON quotes); the candidates that at least
//   two objects have, most common first, at most 1000, are the interfaces; an object is of the
//   interface with the most properties that all are among its own (the earlier one on a tie), or
//   stays "Object".
//
// DevTools compares names by UTF-16 code units and measures them in them; here it is bytes of
// UTF-8, which orders and measures ASCII names the same. DevTools also splits a constructor's
// objects by the script location V8 gives them; that split is not made here.
#pragma once

#include <string>
#include <vector>

#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

struct Interface {
    std::string name;                 // "{id, user, roles}"
    std::vector<std::string> fields;  // the property names, in the objects' order
};

// The interfaces of a V8 heap graph's plain objects, most common first.
std::vector<Interface> infer_interfaces(const Graph& g);

// Renames as current DevTools names: closures and regexps, elements by their tag, and each plain
// object by the best of `interfaces` (from this graph, or from the other snapshot of a
// comparison, as DevTools' Comparison view does). Only for V8 graphs (a no-op on others).
void use_current_devtools_names(Graph& g, const std::vector<Interface>& interfaces);

}  // namespace leakhunt::heapgraph
