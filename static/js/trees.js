/* Decision trees: the Mermaid library (about 1 MB) is loaded only when someone opens the diagram, so the tree
   page shows at once. The script is served by Triage itself; nothing comes from another host. */
(function () {
  "use strict";

  var loading = null;

  function loadMermaid(src) {
    if (window.mermaid) { return Promise.resolve(window.mermaid); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () { resolve(window.mermaid); };
        script.onerror = function () { loading = null; reject(new Error("diagram script failed to load")); };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function draw(box) {
    var source = box.querySelector("pre.mermaid");
    if (!source || source.hasAttribute("data-processed")) { return; }
    box.setAttribute("aria-busy", "true");
    loadMermaid(box.getAttribute("data-mermaid-src")).then(function (mermaid) {
      mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
      return mermaid.run({nodes: [source]});
    }).catch(function () {
      source.setAttribute("data-failed", "true");  // the text source and the list below still say it all
    }).then(function () { box.removeAttribute("aria-busy"); });
  }

  function bind(root) {
    (root || document).querySelectorAll("details[data-mermaid-src]").forEach(function (box) {
      if (box.dataset.bound) { return; }
      box.dataset.bound = "true";
      box.addEventListener("toggle", function () { if (box.open) { draw(box); } });
      if (box.open) { draw(box); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { bind(document); });
  } else {
    bind(document);
  }
})();
