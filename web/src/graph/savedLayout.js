// The explorer's layout, kept in the browser (localStorage, one per server address): a
// reload draws from the saved positions instead of running the force layout again (≤ 500 ms
// at 2,000 services rather than seconds). Services new since are placed beside their
// neighbours; the others stay where the user left them.
const KEY = "ose-mesh.explorer-layout.v1";
const MIN_KNOWN = 0.5; // with fewer nodes known than this share, the layout starts over
const SPREAD = 60; // how far from its neighbours a new node is put

export function loadLayout() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? "null");
    return saved && typeof saved.positions === "object" ? saved.positions : null;
  } catch {
    return null; // a layout from another version, or edited by hand: start over
  }
}

export function saveLayout(cy) {
  const positions = {};
  for (const node of cy.nodes()) {
    const { x, y } = node.position();
    positions[node.id()] = [Math.round(x), Math.round(y)];
  }
  try {
    localStorage.setItem(KEY, JSON.stringify({ positions }));
  } catch (error) {
    console.warn("could not keep the layout", error); // storage full or denied: no harm
  }
}

export function forgetLayout() {
  localStorage.removeItem(KEY);
}

/** Positions for every service of `graph` from `saved` ({id: [x, y]}), new ones placed
 * near their neighbours; null when too few are known to keep the layout. */
export function placeFromSaved(graph, saved) {
  if (!saved) return null;
  const ids = graph.services.map((s) => s.id);
  const placed = new Map();
  for (const id of ids) {
    const at = saved[id];
    if (Array.isArray(at) && Number.isFinite(at[0]) && Number.isFinite(at[1])) {
      placed.set(id, { x: at[0], y: at[1] });
    }
  }
  if (!ids.length || placed.size < MIN_KNOWN * ids.length) return null;
  const neighbours = new Map(ids.map((id) => [id, []]));
  for (const { source, target } of graph.dependencies) {
    neighbours.get(source)?.push(target);
    neighbours.get(target)?.push(source);
  }
  // A few passes, so a chain of new services grows out from the known one it hangs on.
  let waiting = ids.filter((id) => !placed.has(id));
  for (let pass = 0; pass < 4 && waiting.length; pass += 1) {
    waiting = waiting.filter((id, n) => {
      const around = neighbours.get(id).map((other) => placed.get(other)).filter(Boolean);
      if (!around.length) return true;
      const angle = n * 2.399; // the golden angle: siblings do not land on each other
      placed.set(id, {
        x: around.reduce((sum, p) => sum + p.x, 0) / around.length + SPREAD * Math.cos(angle),
        y: around.reduce((sum, p) => sum + p.y, 0) / around.length + SPREAD * Math.sin(angle),
      });
      return false;
    });
  }
  // Loners go in a row under the drawing.
  const bottom = Math.max(...[...placed.values()].map((p) => p.y)) + 2 * SPREAD;
  const left = Math.min(...[...placed.values()].map((p) => p.x));
  waiting.forEach((id, n) => placed.set(id, { x: left + n * SPREAD, y: bottom }));
  return Object.fromEntries(placed);
}
