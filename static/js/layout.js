// Page chrome: the sidebar drawer (narrow screens), the theme toggle, the member panel, and
// the DM picker. No inline handlers anywhere: the CSP allows scripts from files only.
(function () {
  "use strict";

  function setDrawer(open) {
    var toggle = document.getElementById("drawer-toggle");
    var scrim = document.getElementById("scrim");
    document.body.classList.toggle("drawer-open", open);
    if (toggle) toggle.setAttribute("aria-expanded", String(open));
    if (scrim) scrim.hidden = !open;
    if (open) {
      var first = document.querySelector("#sidebar a, #sidebar button");
      if (first) first.focus();
    } else if (toggle && document.activeElement && document.getElementById("sidebar").contains(document.activeElement)) {
      toggle.focus();
    }
  }

  function setMemberPanel(open) {
    var panel = document.getElementById("member-panel");
    var toggle = document.getElementById("members-toggle");
    if (!panel || !toggle) return;
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (!open) toggle.focus();
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("#drawer-toggle")) {
      setDrawer(!document.body.classList.contains("drawer-open"));
    } else if (target.closest("#drawer-close") || target.closest("#scrim")) {
      setDrawer(false);
    } else if (target.closest("#members-toggle")) {
      var panel = document.getElementById("member-panel");
      setMemberPanel(panel.hidden);
    } else if (target.closest("[data-close-panel]")) {
      setMemberPanel(false);
    } else if (target.closest("[data-close-side-panel]")) {
      closeSidePanel();
    }
  });

  // The side panel (a thread, a message's edit history) opens when its content arrives.
  var sidePanelOpener = null;
  function closeSidePanel() {
    var side = document.getElementById("side-panel");
    if (!side || side.hidden) return;
    side.hidden = true;
    side.innerHTML = "";
    if (sidePanelOpener && document.contains(sidePanelOpener)) sidePanelOpener.focus();
    sidePanelOpener = null;
  }
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "side-panel") sidePanelOpener = event.detail.elt;
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var side = document.getElementById("side-panel");
    if (event.detail.target !== side) return;
    side.hidden = false;
    var heading = side.querySelector("h2");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  });

  // Keyboard users land in the member panel once its content has arrived.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var panel = document.getElementById("member-panel");
    if (event.detail.target === panel && !panel.hidden && event.detail.requestConfig.triggeringEvent &&
        event.detail.requestConfig.triggeringEvent.type === "click") {
      var heading = panel.querySelector("h2");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    if (document.body.classList.contains("drawer-open")) setDrawer(false);
    else if (document.querySelector(".emoji-picker:not([hidden])")) return; // the picker closes itself
    else {
      var side = document.getElementById("side-panel");
      var panel = document.getElementById("member-panel");
      if (side && !side.hidden) closeSidePanel();
      else if (panel && !panel.hidden) setMemberPanel(false);
    }
  });

  // Theme: apply at once; the htmx form on the same <select> stores it for the user.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.id === "theme-select") {
      document.documentElement.setAttribute("data-theme", target.value);
    }
    // DM picker: a checked person stays picked while the search results change.
    if (target && target.name === "usernames" && target.closest("#dm-results")) {
      var selected = document.getElementById("dm-selected");
      var item = target.closest("li");
      if (selected && item && target.checked) selected.appendChild(item);
    }
  });
})();
