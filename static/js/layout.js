// Page chrome: the sidebar drawer (narrow screens), the theme toggle, the member panel, the DM
// picker, and where keyboard focus goes when htmx replaces what had it. No inline handlers
// anywhere: the CSP allows scripts from files only.
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

  // A message replaced while it had focus (a reaction or an edit through htmx, or the same
  // change arriving live) keeps the keyboard's place: focus goes to the control with the same
  // data-focus-key in the new copy (messaging/_message.html), else to the message itself; the
  // edit form's [autofocus] then takes it on to the text. Without this, focus falls to <body>.
  var lastFocus = null; // {el, id of its message, key}
  document.addEventListener("focusin", function (event) {
    var el = event.target;
    var li = el instanceof Element ? el.closest("li.message[id]") : null;
    lastFocus = li ? { el: el, id: li.id, key: el.getAttribute("data-focus-key") } : null;
  });
  document.addEventListener("focusout", function (event) {
    // Focus left for nothing (a click on text): forget it, unless its element was removed.
    var el = event.target;
    setTimeout(function () {
      if (lastFocus && lastFocus.el === el && el.isConnected && document.activeElement !== el) lastFocus = null;
    });
  });
  new MutationObserver(function () {
    if (!lastFocus || lastFocus.el.isConnected) return;
    var was = lastFocus;
    lastFocus = null;
    var li = document.getElementById(was.id);
    if (!li || (document.activeElement && document.activeElement !== document.body)) return;
    var controls = li.querySelectorAll("[data-focus-key]");
    for (var i = 0; was.key && i < controls.length; i++) {
      if (controls[i].getAttribute("data-focus-key") === was.key) {
        controls[i].focus();
        return;
      }
    }
    li.setAttribute("tabindex", "-1");
    li.focus();
  }).observe(document.body, { childList: true, subtree: true });

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
