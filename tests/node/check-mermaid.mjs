// Reads a JSON list of Mermaid texts on stdin and answers, for each, whether Mermaid's own
// parser accepts it (and its error if not).
import { mermaid, stdinJson } from "./mermaid-in-node.mjs";

const texts = await stdinJson();
const results = [];
for (const text of texts) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (error) {
    results.push({ ok: false, error: String(error.message || error).slice(0, 500) });
  }
}
process.stdout.write(JSON.stringify(results));
