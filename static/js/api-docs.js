// The API docs page (Swagger UI): names for the few controls Swagger UI leaves unnamed or names
// unlike their visible text (WCAG 4.1.2, 2.5.3). Swagger UI renders and re-renders with React, so
// the names are set whenever its DOM changes; React leaves attributes it did not set alone.
(function () {
  "use strict";

  var NAMES = [
    ["textarea.body-param__text", "Request body"],
    ["button.close-modal", "Close"],
    // Named "Apply credentials" by Swagger UI while it reads "Authorize".
    ["button.modal-btn.authorize", "Authorize"]
  ];

  function name() {
    NAMES.forEach(function (entry) {
      document.querySelectorAll(entry[0]).forEach(function (el) {
        if (el.getAttribute("aria-label") !== entry[1]) el.setAttribute("aria-label", entry[1]);
      });
    });
  }

  new MutationObserver(name).observe(document.body, { childList: true, subtree: true });
  name();
})();
