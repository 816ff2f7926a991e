/* Keyboard navigation for search results: ↓/↑ move between results, Enter opens (a native link),
   Escape returns to the box (or closes the header's drop-down), "/" focuses the header search. Loaded by several partials, so it guards
   against running twice. */
(function () {
  "use strict";
  if (window.triageSearchKeys) return;
  window.triageSearchKeys = true;

  function hitsFor(element) {
    const box = element.closest("[data-search-input]");
    const container = box
      ? document.getElementById(box.dataset.searchResultsId)
      : element.closest("[data-search-results]");
    return container ? Array.from(container.querySelectorAll("a[data-search-hit]")) : [];
  }

  function inputFor(link) {
    const container = link.closest("[data-search-results]");
    return container && document.querySelector('[data-search-results-id="' + container.id + '"]');
  }

  // The header's drop-down closes on Escape or a click elsewhere (it reopens as soon as you type).
  function closeDropdowns(except) {
    document.querySelectorAll("[data-search-dropdown]").forEach(function (form) {
      if (except && form.contains(except)) return;
      const list = form.querySelector(".search-dropdown");
      if (list) list.innerHTML = "";
    });
  }
  document.addEventListener("click", function (event) { closeDropdowns(event.target); });

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey &&
        !target.closest("input, textarea, select, [contenteditable]")) {
      const shortcut = document.querySelector("[data-search-shortcut]");
      if (shortcut) { event.preventDefault(); shortcut.focus(); shortcut.select(); }
      return;
    }
    if (!["ArrowDown", "ArrowUp", "Escape"].includes(event.key)) return;
    if (!target.closest("[data-search-input], [data-search-results]")) return;
    const hits = hitsFor(target);
    const index = hits.indexOf(target);
    if (event.key === "Escape") {
      const input = target.matches("[data-search-input]") ? null : inputFor(target);
      if (input) { event.preventDefault(); input.focus(); }
      else { closeDropdowns(null); }
      return;
    }
    if (!hits.length) return;
    event.preventDefault();
    if (event.key === "ArrowDown") {
      hits[Math.min(index + 1, hits.length - 1)].focus();
    } else if (index <= 0) {
      const input = inputFor(hits[0]);
      if (input) input.focus();
    } else {
      hits[index - 1].focus();
    }
  });
})();
