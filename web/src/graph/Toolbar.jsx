// The explorer's controls: view buttons and focus (first row), filters (second row).
import { EdgeType, Relationship } from "schema-enums";

export const ALL_TYPES = EdgeType;
export const NO_FILTERS = { cluster: "", relationship: "", types: new Set(ALL_TYPES), origin: "" };

export function ViewBar({ graph, view, setView, focus, setFocus, depth, setDepth, actions }) {
  const { physics, three } = view;
  return (
    <form class="toolbar" onSubmit={actions.focus}>
      <button type="button" onClick={actions.reset}>Reset View</button>
      <button type="button" onClick={actions.relayout} disabled={!graph || three}
        title="Lay the graph out again (the layout is kept in this browser)">Re-layout</button>
      <button type="button" aria-pressed={physics} onClick={() => setView({ ...view, physics: !physics })}>
        Toggle Physics{physics ? " (on)" : ""}
      </button>
      <button type="button" onClick={actions.exportPng} disabled={!graph}>Export PNG</button>
      <button type="button" aria-pressed={three} onClick={() => setView({ ...view, three: !three })}>
        {three ? "2D" : "3D"}
      </button>
      <button type="button" onClick={actions.rootCauses} disabled={!graph}>Root causes</button>
      <button type="button" onClick={actions.drift} disabled={!graph || three}
        title="Where the declared edges and the traces of the last 24 hours disagree">Drift</button>
      <button type="button" aria-pressed={view.errors} disabled={three}
        title="Colour the edges by the error rate traces show (green: none, red: 20 % or more)"
        onClick={() => setView({ ...view, errors: !view.errors })}>
        Colour by errors
      </button>
      <span class="sep" />
      <input list="service-ids" placeholder="Focus on a service" aria-label="Focus on a service"
        value={focus} onInput={(e) => setFocus(e.currentTarget.value)} />
      <select aria-label="Depth" value={depth} onChange={(e) => setDepth(e.currentTarget.value)}>
        {["1", "2", "3", "5", "all"].map((d) => <option key={d} value={d}>depth {d}</option>)}
      </select>
      <button type="submit">Focus</button>
      <datalist id="service-ids">
        {(graph?.services ?? []).slice(0, 5000).map((s) => <option key={s.id} value={s.id} />)}
      </datalist>
    </form>
  );
}

export function FilterBar({ graph, filters, setFilters, shown }) {
  const clusters = graph?.clusters.map((c) => c.name) ?? [];
  return (
    <div class="toolbar filters">
      <select aria-label="Cluster" value={filters.cluster}
        onChange={(e) => setFilters({ ...filters, cluster: e.currentTarget.value })}>
        <option value="">All clusters</option>
        {clusters.map((c) => <option key={c} value={c}>{c}</option>)}
      </select>
      <select aria-label="Relationship" value={filters.relationship}
        onChange={(e) => setFilters({ ...filters, relationship: e.currentTarget.value })}>
        <option value="">All relationships</option>
        {Relationship.map((r) => <option key={r} value={r}>{r}</option>)}
      </select>
      <select aria-label="Origin" value={filters.origin}
        onChange={(e) => setFilters({ ...filters, origin: e.currentTarget.value })}>
        <option value="">Declared and observed</option>
        <option value="declared">Declared</option>
        <option value="observed">Seen in traces</option>
        <option value="drift">Seen in traces, not declared</option>
      </select>
      {ALL_TYPES.map((type) => (
        <label key={type} class={`edge-key edge-${type}`}>
          <input type="checkbox" checked={filters.types.has(type)}
            onChange={(e) => {
              const types = new Set(filters.types);
              if (e.currentTarget.checked) types.add(type);
              else types.delete(type);
              setFilters({ ...filters, types });
            }} />
          {type}
        </label>
      ))}
      <span class="muted" data-testid="graph-counts">
        {shown.nodes} services, {shown.edges} dependencies shown
      </span>
    </div>
  );
}
