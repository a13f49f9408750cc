// The search box: "/" or Ctrl+K focuses it, results open in the panel under it as they arrive
// (htmx active search) and close on Escape or a click elsewhere; a room opened at a search
// result (?around=<id>) scrolls to that message and highlights it.
(function () {
  "use strict";

  var input = document.getElementById("search-q");
  var panel = document.getElementById("search-panel");
  var form = document.getElementById("search-form");
  if (!input || !panel || !form) return;

  function typingElsewhere(target) {
    return target instanceof Element && (target.closest("input, textarea, select, [contenteditable]") !== null);
  }

  function focusBox() {
    var sidebar = document.getElementById("sidebar");
    var toggle = document.getElementById("drawer-toggle");
    if (sidebar && toggle && getComputedStyle(sidebar).visibility === "hidden") toggle.click();
    input.focus();
    input.select();
  }

  function showPanel(show) {
    panel.hidden = !(show && panel.textContent.trim() !== "");
  }

  document.addEventListener("keydown", function (event) {
    var slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typingElsewhere(event.target);
    var ctrlK = (event.ctrlKey || event.metaKey) && (event.key === "k" || event.key === "K");
    if (slash || ctrlK) {
      event.preventDefault();
      focusBox();
    } else if (event.key === "Escape" && (form.contains(event.target) || panel.contains(event.target)) && !panel.hidden) {
      event.preventDefault(); // a search input clears itself on Escape: keep the query
      panel.hidden = true;
      input.focus();
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === panel) showPanel(input.value.trim() !== "");
  });
  input.addEventListener("focus", function () {
    showPanel(input.value.trim() !== "");
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof Element && !form.contains(target) && !panel.contains(target)) panel.hidden = true;
  });

  var room = document.querySelector(".room[data-around]");
  var hit = room && document.getElementById("msg-" + room.dataset.around);
  if (hit) {
    hit.scrollIntoView({ block: "center" });
    hit.classList.add("highlight");
    setTimeout(function () {
      hit.classList.remove("highlight");
    }, 4000);
  }
})();
