// Emoji picker. Any <button data-emoji-picker="ID"> opens it; choosing an emoji dispatches a
// bubbling `parley:emoji` CustomEvent on that button, detail {emoji, target: "ID"}. What the
// emoji is for (a reaction, text for the composer) is the listener's business, not this file's.
// Openers are found by delegation, so buttons swapped in later work too; give them type="button",
// a name (aria-label) and aria-haspopup="dialog" aria-expanded="false" in the markup.
//
// One popover (role="dialog") serves every opener. Its data, vendor/emoji/emoji.json, is fetched
// on the first open only (data-emoji-src on the opener overrides the URL, e.g. a hashed static
// name). Keyboard: the search field gets focus, and Enter there picks the first match; ArrowDown
// enters the grid, where the arrow keys, Home and End move, Enter picks and ArrowUp from the top
// row returns to the search; Left/Right switch category tabs; Tab cycles inside the popover;
// Escape closes it and focus returns to the opener. No inline handlers or markup styles (the CSP
// allows script files only); positions are set through element.style, which the CSP allows.
(function () {
  "use strict";

  var DATA_URL = "/static/vendor/emoji/emoji.json";
  var WORD_SPLIT = /[\s:,.!()"'\u2019-]+/;
  var EDGE = 8; // px kept between the popover and the viewport's edges

  var dataPromise = null;
  var categories = null; // loaded data: [{name, emoji: [{e, n, k, words}]}]
  var picker = null; // the popover's elements, built on first open
  var opener = null; // the button the open popover belongs to
  var current = 0; // index of the category shown when not searching

  // -- data -------------------------------------------------------------------------------------

  function prepare(data) {
    data.categories.forEach(function (category) {
      category.emoji.forEach(function (item) {
        var name = item.n.toLowerCase();
        item.name = name;
        item.nameWords = name.split(WORD_SPLIT);
        item.words = item.nameWords.concat(item.k || []);
      });
    });
    return data.categories;
  }

  function load(url) {
    if (!dataPromise) {
      dataPromise = fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("emoji data: HTTP " + response.status);
          return response.json();
        })
        .then(prepare);
      dataPromise.catch(function () {
        dataPromise = null; // the next open tries again
      });
    }
    return dataPromise;
  }

  function startsAny(words, term) {
    for (var i = 0; i < words.length; i++) {
      if (words[i].indexOf(term) === 0) return true;
    }
    return false;
  }

  // Every term must start a word of the name or a keyword. Names that start with the query come
  // first, then matches on the name alone, then those found through keywords.
  function search(query) {
    var terms = query.split(/\s+/).filter(Boolean);
    var ranked = [[], [], []];
    categories.forEach(function (category) {
      category.emoji.forEach(function (item) {
        if (!terms.every(function (term) { return startsAny(item.words, term); })) return;
        if (item.name.indexOf(query) === 0) ranked[0].push(item);
        else if (terms.every(function (term) { return startsAny(item.nameWords, term); })) ranked[1].push(item);
        else ranked[2].push(item);
      });
    });
    return ranked[0].concat(ranked[1], ranked[2]);
  }

  // -- building ---------------------------------------------------------------------------------

  function element(tag, className, attributes) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    Object.keys(attributes || {}).forEach(function (name) {
      el.setAttribute(name, attributes[name]);
    });
    return el;
  }

  function build() {
    var root = element("div", "emoji-picker", { id: "emoji-picker", role: "dialog", "aria-label": "Choose an emoji" });
    root.hidden = true;
    var field = element("input", "emoji-picker-search", {
      type: "search",
      "aria-label": "Search emoji",
      placeholder: "Search emoji",
      autocomplete: "off",
      spellcheck: "false",
      "aria-controls": "emoji-picker-panel"
    });
    var tabs = element("div", "emoji-picker-tabs", { role: "tablist", "aria-label": "Emoji categories" });
    var panel = element("div", "emoji-picker-panel", { id: "emoji-picker-panel", role: "tabpanel" });
    var grid = element("div", "emoji-picker-grid");
    var message = element("p", "emoji-picker-message");
    var status = element("p", "emoji-picker-status", { role: "status" });
    message.hidden = true;
    panel.appendChild(grid);
    panel.appendChild(message);
    root.appendChild(field);
    root.appendChild(tabs);
    root.appendChild(panel);
    root.appendChild(status);
    document.body.appendChild(root);

    picker = { root: root, search: field, tabs: tabs, panel: panel, grid: grid, message: message, status: status };

    field.addEventListener("input", function () {
      if (categories) showSearch();
    });
    field.addEventListener("keydown", onSearchKey);
    tabs.addEventListener("keydown", onTabKey);
    tabs.addEventListener("click", function (event) {
      var tab = event.target instanceof Element && event.target.closest("[role=tab]");
      if (!tab) return;
      field.value = "";
      showCategory(Number(tab.dataset.index));
    });
    grid.addEventListener("keydown", onGridKey);
    grid.addEventListener("click", function (event) {
      var item = event.target instanceof Element && event.target.closest(".emoji-picker-item");
      if (item) pick(item.dataset.emoji);
    });
    root.addEventListener("keydown", onRootKey);
    root.addEventListener("focusout", function (event) {
      var next = event.relatedTarget;
      // Focus moved somewhere else on the page: the popover is done. (To the opener: its click
      // toggles the popover, so leave that to the click.)
      if (next && next !== opener && !root.contains(next)) close(false);
    });
  }

  function buildTabs() {
    categories.forEach(function (category, index) {
      var tab = element("button", "emoji-picker-tab", {
        type: "button",
        role: "tab",
        id: "emoji-picker-tab-" + index,
        "aria-controls": "emoji-picker-panel",
        "aria-label": category.name,
        title: category.name,
        tabindex: "-1"
      });
      tab.dataset.index = String(index);
      tab.textContent = category.emoji[0].e;
      picker.tabs.appendChild(tab);
    });
  }

  function fillGrid(items) {
    var fragment = document.createDocumentFragment();
    items.forEach(function (item, index) {
      var button = element("button", "emoji-picker-item", {
        type: "button",
        "aria-label": item.n,
        title: item.n,
        tabindex: index === 0 ? "0" : "-1"
      });
      button.dataset.emoji = item.e;
      button.textContent = item.e;
      fragment.appendChild(button);
    });
    picker.grid.textContent = "";
    picker.grid.appendChild(fragment);
    picker.panel.scrollTop = 0;
  }

  function setMessage(text) {
    picker.message.textContent = text;
    picker.message.hidden = !text;
  }

  function selectTab(index) {
    picker.tabs.querySelectorAll("[role=tab]").forEach(function (tab, i) {
      var selected = i === index;
      tab.setAttribute("aria-selected", String(selected));
      // With no tab selected (a search), the first one is the tablist's Tab stop.
      tab.tabIndex = selected || (index < 0 && i === 0) ? 0 : -1;
    });
  }

  function showCategory(index) {
    current = index;
    selectTab(index);
    picker.panel.removeAttribute("aria-label");
    picker.panel.setAttribute("aria-labelledby", "emoji-picker-tab-" + index);
    fillGrid(categories[index].emoji);
    setMessage("");
    picker.status.textContent = "";
  }

  function showSearch() {
    var query = picker.search.value.trim().toLowerCase();
    if (!query) {
      showCategory(current);
      return;
    }
    var found = search(query);
    selectTab(-1);
    picker.panel.removeAttribute("aria-labelledby");
    picker.panel.setAttribute("aria-label", "Search results");
    fillGrid(found);
    setMessage(found.length ? "" : "No emoji found.");
    picker.status.textContent = found.length === 1 ? "1 emoji found" : found.length + " emoji found";
  }

  // -- keyboard ---------------------------------------------------------------------------------

  function items() {
    return picker.grid.querySelectorAll(".emoji-picker-item");
  }

  function columns() {
    var tracks = getComputedStyle(picker.grid).gridTemplateColumns.split(" ").filter(Boolean);
    return Math.max(1, tracks.length);
  }

  function focusItem(list, index) {
    var active = picker.grid.querySelector('.emoji-picker-item[tabindex="0"]');
    if (active) active.tabIndex = -1;
    list[index].tabIndex = 0;
    list[index].focus();
  }

  function enterGrid() {
    var active = picker.grid.querySelector('.emoji-picker-item[tabindex="0"]');
    if (active) active.focus();
  }

  function onSearchKey(event) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      enterGrid();
    } else if (event.key === "Enter") {
      event.preventDefault(); // never submit a form around the opener
      var first = items()[0];
      if (first && picker.search.value.trim()) pick(first.dataset.emoji);
    }
  }

  function onTabKey(event) {
    var tabs = picker.tabs.querySelectorAll("[role=tab]");
    var index = Array.prototype.indexOf.call(tabs, document.activeElement);
    if (index < 0) return;
    var next;
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    else if (event.key === "ArrowDown") {
      event.preventDefault();
      enterGrid();
      return;
    } else return;
    event.preventDefault();
    picker.search.value = "";
    showCategory(next); // tabs activate on focus: the grid is cheap to fill
    tabs[next].focus();
  }

  function onGridKey(event) {
    var list = items();
    var index = Array.prototype.indexOf.call(list, document.activeElement);
    if (index < 0) return;
    var cols = columns();
    var next;
    if (event.key === "ArrowRight") next = index + 1;
    else if (event.key === "ArrowLeft") next = index - 1;
    else if (event.key === "ArrowDown") next = index + cols;
    else if (event.key === "ArrowUp") {
      if (index < cols) {
        event.preventDefault();
        picker.search.focus();
        return;
      }
      next = index - cols;
    } else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = list.length - 1;
    else return;
    event.preventDefault();
    focusItem(list, Math.max(0, Math.min(list.length - 1, next)));
  }

  function onRootKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the page's own Escape handling (drawer, panels) is not for this
      close(true);
    } else if (event.key === "Tab") {
      var stops = Array.prototype.filter.call(
        picker.root.querySelectorAll('input, button[tabindex="0"]'),
        function (el) { return el.offsetParent !== null; }
      );
      if (!stops.length) return;
      var first = stops[0];
      var last = stops[stops.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  }

  // -- opening, placing, closing ----------------------------------------------------------------

  function place() {
    if (!opener || picker.root.hidden) return;
    var rect = opener.getBoundingClientRect();
    var root = picker.root;
    var viewWidth = document.documentElement.clientWidth;
    var viewHeight = document.documentElement.clientHeight;
    var left = Math.max(EDGE, Math.min(rect.left, viewWidth - root.offsetWidth - EDGE));
    var top = rect.bottom + 4;
    // Below the button when it fits, else above (a composer sits at the bottom of the page).
    if (top + root.offsetHeight > viewHeight - EDGE && rect.top - root.offsetHeight - 4 >= EDGE) {
      top = rect.top - root.offsetHeight - 4;
    }
    root.style.left = left + "px";
    root.style.top = Math.max(EDGE, Math.min(top, viewHeight - root.offsetHeight - EDGE)) + "px";
  }

  function open(button) {
    if (!picker) build();
    opener = button;
    button.setAttribute("aria-haspopup", "dialog");
    button.setAttribute("aria-expanded", "true");
    picker.search.value = "";
    picker.root.hidden = false;
    place();
    picker.search.focus();
    if (categories) {
      showCategory(current);
      return;
    }
    fillGrid([]);
    setMessage("Loading emoji…");
    load(button.getAttribute("data-emoji-src") || DATA_URL).then(
      function (loaded) {
        if (categories) return;
        categories = loaded;
        buildTabs();
        if (!picker.root.hidden) showSearch(); // what was typed while loading counts
        else showCategory(current);
      },
      function () {
        setMessage("Emoji could not be loaded. Close and try again.");
      }
    );
  }

  function close(returnFocus) {
    if (!picker || picker.root.hidden) return;
    picker.root.hidden = true;
    var button = opener;
    opener = null;
    if (!button) return;
    button.setAttribute("aria-expanded", "false");
    if (returnFocus && document.contains(button)) button.focus();
  }

  function pick(emoji) {
    var button = opener;
    if (!button || !emoji) return;
    // Closed first, so a listener may move focus (say, into the composer) and keep it there.
    close(true);
    button.dispatchEvent(
      new CustomEvent("parley:emoji", {
        bubbles: true,
        detail: { emoji: emoji, target: button.getAttribute("data-emoji-picker") }
      })
    );
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element && event.target.closest("[data-emoji-picker]");
    if (!button) return;
    event.preventDefault();
    if (opener === button) close(true);
    else {
      close(false);
      open(button);
    }
  });

  // A press outside the popover (and outside its opener, whose click toggles) closes it.
  document.addEventListener("pointerdown", function (event) {
    if (!opener || !(event.target instanceof Node)) return;
    if (picker.root.contains(event.target) || opener.contains(event.target)) return;
    close(false);
  });

  window.addEventListener("resize", place);
  window.addEventListener("scroll", place, true);
})();
