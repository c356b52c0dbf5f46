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

// GraphiQL's tab strip claims to be a tablist, but its tabs hold two buttons each (select,
// close) and the strip holds a "new tab" button: assistive technology is told of tabs it
// cannot use as tabs (axe: aria-required-children, nested-interactive). It is told the
// truth instead: a group of buttons, the selected tab's button pressed.
function plainTabs() {
  for (const strip of document.querySelectorAll("ul.graphiql-tabs:not([role=group])")) {
    strip.setAttribute("role", "group");
  }
  for (const tab of document.querySelectorAll("li.graphiql-tab")) {
    const selected = tab.classList.contains("graphiql-tab-active");
    if (tab.getAttribute("role") !== "none") tab.setAttribute("role", "none");
    if (tab.hasAttribute("aria-selected")) tab.removeAttribute("aria-selected");
    const button = tab.querySelector(".graphiql-tab-button");
    if (button && button.getAttribute("aria-pressed") !== String(selected)) {
      button.setAttribute("aria-pressed", String(selected));
    }
  }
}
new MutationObserver(plainTabs).observe(document.documentElement, {
  childList: true,
  subtree: true,
  attributes: true,
  attributeFilter: ["role", "aria-selected", "class"],
});
plainTabs();
