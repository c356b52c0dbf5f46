// Reads a Mermaid flowchart on stdin and prints the text Mermaid shows for each node, as
// JSON {id: text}: the label after Mermaid's own entity handling, decoded as the browser does.
import { dom, mermaid, stdinJson } from "./mermaid-in-node.mjs";

const text = await stdinJson();
await mermaid.parse(text);
const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
const shown = {};
for (const [id, vertex] of diagram.db.getVertices()) {
  // Mermaid's decodeEntities, then the browser's reading of the HTML entities it leaves.
  const html = vertex.text.replace(/ﬂ°°/g, "&#").replace(/ﬂ°/g, "&").replace(/¶ß/g, ";");
  const element = dom.window.document.createElement("span");
  element.innerHTML = html;
  shown[id] = element.textContent;
}
process.stdout.write(JSON.stringify(shown));
