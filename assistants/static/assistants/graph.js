// Draws each assistant's graph (a <pre class="mermaid"> block) with the vendored Mermaid.
window.addEventListener("load", function () {
  if (!window.mermaid) { return; }
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  window.mermaid.run({ querySelector: "pre.mermaid" });
});
