/* Triage behaviours that an htmx attribute cannot express: copying code blocks, confirming a delete. */
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
    var holder = pre.parentElement;
    if (!holder.classList.contains("highlight")) {
      holder = document.createElement("div");
      holder.className = "code-block";
      pre.parentNode.insertBefore(holder, pre);
      holder.appendChild(pre);
    }
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

  function enhance(root) {
    var blocks = root.querySelectorAll ? root.querySelectorAll(".article-body pre") : [];
    for (var i = 0; i < blocks.length; i++) { addCopyButton(blocks[i]); }
    if (root.matches && root.matches(".article-body pre")) { addCopyButton(root); }
  }

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

  // htmx.onLoad runs for the page and for every swapped-in fragment (e.g. the live preview).
  if (window.htmx) {
    window.htmx.onLoad(enhance);
  } else {
    enhance(document);
  }
})();
