// GraphiQL's editors are CodeMirror instances whose hidden textareas have no label: each is
// named after the editor it belongs to, as the editors appear.
const EDITORS = [
  [".graphiql-query-editor", "Query editor"],
  [".graphiql-editor-tool [aria-label]", null],
  [".result-window", "Result"],
];
function label() {
  for (const area of document.querySelectorAll(".CodeMirror textarea:not([aria-label])")) {
    let name = "Editor";
    for (const [selector, fixed] of EDITORS) {
      const owner = area.closest(selector);
      if (owner) {
        name = fixed ?? owner.getAttribute("aria-label");
        break;
      }
    }
    const tool = area.closest(".graphiql-editor-tool");
    if (tool) name = tool.querySelector(".graphiql-editor-tools button[aria-selected=true]")?.textContent || "Variables";
    area.setAttribute("aria-label", name);
  }
}
new MutationObserver(label).observe(document.documentElement, { childList: true, subtree: true });
label();
