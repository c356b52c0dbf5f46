// Reads a Cytoscape.js export on stdin, loads it headless, prints what arrived as JSON.
import cytoscape from "cytoscape";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const exported = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const errors = [];
const originalError = console.error;
const originalWarn = console.warn;
console.error = (...args) => errors.push(args.join(" "));
console.warn = (...args) => errors.push(args.join(" "));
const cy = cytoscape({ headless: true, elements: exported.elements });
console.error = originalError;
console.warn = originalWarn;
process.stdout.write(JSON.stringify({
  nodes: cy.nodes().map((n) => n.id()),
  edges: cy.edges().map((e) => ({ id: e.id(), source: e.source().id(), target: e.target().id() })),
  errors,
}));
