// The oracle of test_heapgraph.py: per class, the count, self size and retained size of a V8 heap
// snapshot as memlab computes them (its parser, its Lengauer-Tarjan dominators and its retained
// sizes), printed as one JSON object {"nodes": N, "classes": {name: {count, self, retained}}}.
//
// Usage: node memlab_classes.js FILE [--devtools]   (memlab from $MEMLAB_DIR, by default
// ~/.cache/leakhunt/memlab, where scripts/install-deps.sh installs it)
//
// memlab 2.0.5 departs from Chrome DevTools' HeapSnapshot model in three rules of which edges count
// for dominators (all in its TraceFinder); --devtools replaces them with DevTools' own, and leaves
// the rest of memlab as it is:
// - page-owned nodes: DevTools (markPageOwnedNodes) marks what is reachable over non-weak edges
//   from the root's shortcut children (the global objects) and "(Document DOM trees)"; memlab
//   (flagReachableNodesFromWindow) marks from every other child of the root instead (the GC
//   roots). Both then skip the edges from unmarked to marked nodes, so memlab ends up skipping
//   almost none of the edges by which the runtime's internals reach the program's own objects.
// - WeakMap values: DevTools (computeIsEssentialEdge) skips a value's internal edge from the
//   WeakMap's table, "N / part of key (K @k) -> value (V @v) pair in WeakMap (table @T)" from the
//   node of id T; memlab keeps it. Here memlab sees that edge as weak while it computes
//   dominators.
// - and so which unreached nodes are searched from as if the root held them: DevTools
//   (hasOnlyWeakRetainers) takes those with no retainer by an edge that counts under the rules
//   above; memlab (hasOnlyWeakReferrers) those whose retainers' edges are all weak or shortcuts.
// and in one rule of which natives are detached (its _propagateDetachednessState, DevTools'
// propagateDOMState): memlab looks the hidden, weak and invisible edge types up among the edge
// *fields* ("type", "name_or_index", "to_node"), so it passes a native's state on over hidden and
// weak edges and not over internal ones (the fourth type, where "invisible" lands); --devtools
// runs it with the types DevTools skips.
// Classes are named as leakhunt names them (DevTools' older Summary names: an object's or a
// native's own name, "Detached " before a detached native's, "(closure)", "(system)" for hidden,
// "(compiled code)" for code). A class's retained size is DevTools'
// calculateClassesRetainedSize: the sum over its nodes of self size > 0 that no node of the class
// dominates.
'use strict';
const os = require('os');
const path = require('path');

const file = process.argv[2];
const devtools = process.argv.includes('--devtools');
const memlabDir = process.env.MEMLAB_DIR || path.join(os.homedir(), '.cache/leakhunt/memlab');
const modules = path.join(memlabDir, 'node_modules');
const {getFullHeapFromFile} = require(path.join(modules, '@memlab/heap-analysis'));
const TraceFinder = require(path.join(modules, '@memlab/core/dist/paths/TraceFinder.js')).default;
const HeapEdge = require(path.join(modules, '@memlab/core/dist/lib/heap-data/HeapEdge.js')).default;
const Utils = require(path.join(modules, '@memlab/core/dist/lib/Utils.js')).default;
const HeapSnapshot =
    require(path.join(modules, '@memlab/core/dist/lib/heap-data/HeapSnapshot.js')).default;

const WEAKMAP_VALUE =
    /^\d+ \/ part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap \(table @(\d+)\)$/;

if (devtools) {
  const rawType = Object.getOwnPropertyDescriptor(HeapEdge.prototype, 'type').get;
  let tableEdges = null;  // while dominators are computed: 1 per WeakMap table -> value edge
  let pageFlag = 0;
  Object.defineProperty(HeapEdge.prototype, 'type', {
    get() {
      return tableEdges && tableEdges[this.idx] ? 'weak' : rawType.call(this);
    },
  });
  const propagate = HeapSnapshot.prototype._propagateDetachednessState;
  HeapSnapshot.prototype._propagateDetachednessState = function() {
    const kept = [this._edgeHiddenType, this._edgeWeakType, this._edgeInvisibleType];
    this._edgeHiddenType = this._edgeTypes.indexOf('hidden');
    this._edgeWeakType = this._edgeTypes.indexOf('weak');
    this._edgeInvisibleType = this._edgeTypes.indexOf('invisible');
    try {
      return propagate.call(this);
    } finally {
      [this._edgeHiddenType, this._edgeWeakType, this._edgeInvisibleType] = kept;
    }
  };
  TraceFinder.prototype.flagReachableNodesFromWindow = function(snapshot, flags, flag) {
    pageFlag = flag;
    const stack = [];
    for (const edge of snapshot.nodes.get(0).references) {
      const to = edge.toNode;
      const type = rawType.call(edge);
      if (type === 'shortcut' ||
          (type === 'element' && to.type === 'synthetic' && to.name === '(Document DOM trees)')) {
        if (!(flags[to.nodeIndex] & flag)) stack.push(to.nodeIndex);
        flags[to.nodeIndex] |= flag;
      }
    }
    while (stack.length) {
      for (const edge of snapshot.nodes.get(stack.pop()).references) {
        const to = edge.toNode.nodeIndex;
        if (flags[to] & flag || rawType.call(edge) === 'weak') continue;
        flags[to] |= flag;
        stack.push(to);
      }
    }
  };
  const compute = TraceFinder.prototype.computeDominatorsAndRetainedSizes;
  TraceFinder.prototype.computeDominatorsAndRetainedSizes = function(snapshot, flags) {
    const marks = new Uint8Array(snapshot.edges.length);
    snapshot.nodes.forEach(node => {
      for (const edge of node.references) {
        if (rawType.call(edge) !== 'internal') continue;
        const m = WEAKMAP_VALUE.exec(String(edge.name_or_index));
        if (m && Number(m[1]) === node.id) marks[edge.edgeIndex] = 1;
      }
    });
    // DevTools' hasOnlyWeakRetainers: no retainer by an edge that counts (memlab's
    // hasOnlyWeakReferrers looks at the edges' types only).
    const counts = edge => {
      const type = edge.type, from = edge.fromNode.nodeIndex, to = edge.toNode.nodeIndex;
      if (type === 'weak' || from === to) return false;
      if (from === 0) return true;
      return type !== 'shortcut' && !(flags[to] & pageFlag && !(flags[from] & pageFlag));
    };
    const onlyWeak = Utils.hasOnlyWeakReferrers;
    Utils.hasOnlyWeakReferrers = node => node.findAnyReferrer(counts) == null;
    tableEdges = marks;
    try {
      return compute.call(this, snapshot, flags);
    } finally {
      tableEdges = null;
      Utils.hasOnlyWeakReferrers = onlyWeak;
    }
  };
}

function className(node) {
  switch (node.type) {
    case 'object':
    case 'native':
      return node.name;
    case 'hidden':
      return '(system)';
    case 'code':
      return '(compiled code)';
    default:
      return '(' + node.type + ')';
  }
}

(async () => {
  const heap = await getFullHeapFromFile(file);
  const n = heap.nodes.length;
  const cls = new Array(n), self = new Float64Array(n), retained = new Float64Array(n);
  const dom = new Int32Array(n);
  heap.nodes.forEach(node => {
    const i = node.nodeIndex;
    cls[i] = className(node);
    self[i] = node.self_size;
    retained[i] = node.retainedSize;
    dom[i] = node.dominatorNode ? node.dominatorNode.nodeIndex : 0;
  });
  const rows = new Map();
  const row = c => {
    if (!rows.has(c)) rows.set(c, {count: 0, self: 0, retained: 0});
    return rows.get(c);
  };
  for (let i = 1; i < n; ++i) {
    if (self[i] === 0) continue;
    const r = row(cls[i]);
    r.count++;
    r.self += self[i];
  }
  // The dominator tree's children in CSR form, walked depth first with, per class, how many of
  // its counted nodes are on the stack.
  const first = new Float64Array(n + 1);
  for (let i = 1; i < n; ++i) first[dom[i] + 1]++;
  for (let i = 0; i < n; ++i) first[i + 1] += first[i];
  const children = new Uint32Array(first[n]), fill = first.slice(0, n);
  for (let i = 1; i < n; ++i) children[fill[dom[i]]++] = i;
  const open = new Map();
  const stack = [[0, first[0]]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top[1] === first[top[0] + 1]) {
      stack.pop();
      if (top[0] !== 0 && self[top[0]] !== 0) open.set(cls[top[0]], open.get(cls[top[0]]) - 1);
      continue;
    }
    const c = children[top[1]++];
    if (self[c] !== 0) {
      const k = open.get(cls[c]) || 0;
      if (k === 0) row(cls[c]).retained += retained[c];
      open.set(cls[c], k + 1);
    }
    stack.push([c, first[c]]);
  }
  process.stdout.write(JSON.stringify({nodes: n, classes: Object.fromEntries(rows)}) + '\n');
})().catch(e => {
  process.stderr.write(`memlab_classes: ${e && e.stack || e}\n`);
  process.exit(1);
});
