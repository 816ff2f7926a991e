/* Triage behaviours that an htmx attribute cannot express: copying code blocks, live countdowns, confirming a delete. */
(function () {
  "use strict";

  var RESET_AFTER_MS = 2000;

  // execCommand is deprecated, but it is the only way left on plain-HTTP intranet hosts,
  // where navigator.clipboard does not exist (it needs a secure context).
  function legacyCopy(text) {
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.top = "-1000px";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return legacyCopy(text); });
    }
    return legacyCopy(text);
  }

  function codeOf(pre) {
    var code = pre.querySelector("code") || pre;
    // The last line's newline is Markdown's, not part of the command.
    return code.textContent.replace(/\n$/, "");
  }

  function selectContents(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function addCopyButton(pre) {
    if (pre.dataset.copyReady) { return; }
    pre.dataset.copyReady = "1";
    // A block that scrolls sideways must be reachable by keyboard to be scrolled.
    if (!pre.hasAttribute("tabindex")) { pre.tabIndex = 0; }
    var holder = pre.parentElement;
    if (!holder.classList.contains("highlight")) {
      holder = document.createElement("div");
      pre.parentNode.insertBefore(holder, pre);
      holder.appendChild(pre);
    }
    // The button is placed against its holder, wherever the block stands (article, solution steps, match page).
    holder.classList.add("code-block");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy code to clipboard");
    var timer = null;
    button.addEventListener("click", function () {
      copyText(codeOf(pre)).then(function () {
        button.textContent = "Copied";
        button.classList.add("copied");
        button.classList.remove("failed");
      }, function () {
        // Leave the code selected so Ctrl+C / long-press still works.
        selectContents(pre);
        button.textContent = "Press Ctrl+C";
        button.classList.add("failed");
      }).then(function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          button.textContent = "Copy";
          button.classList.remove("copied", "failed");
        }, RESET_AFTER_MS);
      });
    });
    holder.appendChild(button);
  }

  // Every code block a reader might run gets a Copy button: article bodies, solution steps, symptom cards.
  var CODE_BLOCKS = ".article-body pre, .kb-card pre, .solution-steps pre, .preview-pane pre";

  function enhance(root) {
    var blocks = root.querySelectorAll ? root.querySelectorAll(CODE_BLOCKS) : [];
    for (var i = 0; i < blocks.length; i++) { addCopyButton(blocks[i]); }
    if (root.matches && root.matches(CODE_BLOCKS)) { addCopyButton(root); }
  }

  // The table of contents follows the reader: the section being read is marked in it.
  function followToc() {
    var toc = document.querySelector("[data-toc]");
    if (!toc || !window.IntersectionObserver) { return; }
    var links = {};
    var targets = [];
    toc.querySelectorAll('a[href^="#"]').forEach(function (link) {
      var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (target) { links[target.id] = link; targets.push(target); }
    });
    var visible = {};
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) { visible[entry.target.id] = entry.isIntersecting; });
      var current = null;
      for (var k = 0; k < targets.length; k++) {
        if (visible[targets[k].id]) { current = targets[k].id; break; }
      }
      if (!current) { return; }
      Object.keys(links).forEach(function (id) {
        if (id === current) { links[id].setAttribute("aria-current", "true"); }
        else { links[id].removeAttribute("aria-current"); }
      });
    }, { rootMargin: "0px 0px -60% 0px" });
    targets.forEach(function (target) { observer.observe(target); });
  }
  followToc();

  // The table of contents is open without JavaScript; on narrow screens fold it so the article comes first.
  if (window.matchMedia && window.matchMedia("(max-width: 1023px)").matches) {
    var tocs = document.querySelectorAll("details.toc-box");
    for (var t = 0; t < tocs.length; t++) { tocs[t].open = false; }
  }

  // Forms with data-confirm ask first (an inline onsubmit would break the Content-Security-Policy).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }

  });

  // Response-target countdowns: <time datetime=ISO data-countdown> shows "m:ss" left, or how long overdue.
  function clock(seconds) {
    var s = Math.floor(Math.abs(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }
  function tickCountdowns() {
    var now = Date.now();
    var items = document.querySelectorAll("time[data-countdown]");
    for (var c = 0; c < items.length; c++) {
      var left = (Date.parse(items[c].getAttribute("datetime")) - now) / 1000;
      if (isNaN(left)) { continue; }
      items[c].textContent = left >= 0 ? clock(left) : "by " + clock(left);
    }
  }
  if (document.querySelector("time[data-countdown]")) {
    tickCountdowns();
    setInterval(tickCountdowns, 1000);
  }

  // A button that leads to a folded form ("Resolve…") unfolds it as well as scrolling to it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-open-details]");
    var details = link && document.getElementById(link.getAttribute("data-open-details"));
    if (details) { details.open = true; }
  });

  // htmx.onLoad runs for the page and for every swapped-in fragment (e.g. the live preview).
  if (window.htmx) {
    window.htmx.onLoad(enhance);
  } else {
    enhance(document);
  }
})();
