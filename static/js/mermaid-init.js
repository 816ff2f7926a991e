/* Draws the decision-tree diagrams once Mermaid has loaded (kept out of the page: the CSP forbids inline scripts). */
if (window.mermaid) {
  window.mermaid.initialize({startOnLoad: true, securityLevel: "strict"});
}
