// How the 2D graph looks: nodes coloured by live status (the theme's colours, read from
// CSS so dark mode applies), edges styled by dependency type, or by what traces show.

export function statusColours() {
  const css = getComputedStyle(document.documentElement);
  const read = (name) => css.getPropertyValue(`--status-${name}`).trim();
  return {
    HEALTHY: read("healthy"),
    DEGRADED: read("degraded"),
    CRITICAL: read("critical"),
    DEAD: read("dead"),
    UNKNOWN: read("unknown"),
    text: css.getPropertyValue("--text").trim(),
    edge: css.getPropertyValue("--muted").trim(),
    background: css.getPropertyValue("--bg").trim(),
    accent: css.getPropertyValue("--accent").trim(),
    observed: css.getPropertyValue("--observed").trim(),
  };
}

export function graphStyle(colours) {
  return [
    {
      selector: "node",
      style: {
        label: "data(id)",
        "font-size": 11,
        "min-zoomed-font-size": 7, // labels disappear when zoomed out: 2,000 nodes stay fluid
        color: colours.text,
        "text-valign": "bottom",
        "text-margin-y": 3,
        "text-max-width": 140,
        "text-wrap": "ellipsis",
        width: 18,
        height: 18,
        "background-color": colours.UNKNOWN,
        "border-width": 1,
        "border-color": colours.background,
      },
    },
    ...["HEALTHY", "DEGRADED", "CRITICAL", "DEAD", "UNKNOWN"].map((status) => ({
      selector: `node[status = "${status}"]`,
      style: { "background-color": colours[status] },
    })),
    { selector: "node[!monitored]", style: { shape: "round-rectangle", "border-style": "dashed" } },
    {
      selector: "edge",
      style: {
        width: 1.5,
        "line-color": colours.edge,
        "target-arrow-color": colours.edge,
        "target-arrow-shape": "triangle",
        "arrow-scale": 0.8,
        "curve-style": "straight", // cheap to draw; bezier (parallel edges apart) when small
        opacity: 0.8,
      },
    },
    { selector: "edge[type = 'hard']", style: { width: 2 } },
    { selector: "edge[type = 'soft']", style: { "line-style": "dashed" } },
    { selector: "edge[type = 'optional']", style: { "line-style": "dotted", opacity: 0.6 } },
    {
      selector: "edge[type = 'circular']",
      style: { "line-color": colours.CRITICAL, "target-arrow-color": colours.CRITICAL, width: 2 },
    },
    {
      // seen in traces, not declared: the impact analysis does not know it
      selector: "edge[origin = 'observed']",
      style: { "line-style": "dotted", "line-color": colours.observed, "target-arrow-color": colours.observed,
        width: 2, opacity: 0.9 },
    },
    {
      // coloured by error rate (Kiali's view): green at none, red from 20 % up
      selector: "edge.by-errors",
      style: {
        "line-color": `mapData(errorRate, 0, 0.2, ${colours.HEALTHY}, ${colours.CRITICAL})`,
        "target-arrow-color": `mapData(errorRate, 0, 0.2, ${colours.HEALTHY}, ${colours.CRITICAL})`,
        width: "mapData(rate, 0, 50, 2, 6)",
        opacity: 1,
      },
    },
    { selector: "edge.no-traffic", style: { opacity: 0.25 } },
    { selector: ".hidden", style: { display: "none" } },
    { selector: ".dimmed", style: { opacity: 0.15 } },
    { selector: "node:selected", style: { "border-width": 3, "border-color": colours.accent } },
    {
      selector: "node.impact-failed",
      style: { "border-width": 4, "border-color": colours.DEAD, "border-style": "double" },
    },
    {
      selector: "node.impact-degraded",
      style: { "border-width": 3, "border-color": colours.DEGRADED },
    },
    { selector: "node.impact-origin", style: { width: 28, height: 28 } },
    {
      selector: "node.root-cause",
      style: { width: 30, height: 30, "border-width": 4, "border-color": colours.accent },
    },
    { selector: "edge.trail", style: { width: 3, "line-color": colours.accent, opacity: 1 } },
    { selector: "edge.drift-undeclared", style: { width: 3, opacity: 1 } },
    {
      // declared, not seen in traces while its caller was: possibly dead
      selector: "edge.drift-unseen",
      style: { width: 3, "line-style": "dashed", "line-dash-pattern": [2, 6], opacity: 1 },
    },
    {
      // its traffic contradicts its declared type or kind
      selector: "edge.drift-suspect",
      style: { width: 4, "line-color": colours.DEGRADED, "target-arrow-color": colours.DEGRADED, opacity: 1 },
    },
  ];
}
