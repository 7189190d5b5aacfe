/*
 * The lab on a static page: its buttons are disabled, with the lab's note as their tooltip.
 *
 * The HTML book draws each cookbook.lab.Lab panel from the widget state saved when the chapter
 * was executed, but no kernel runs behind the page: Start, Stop, Reset and Clear runs would do
 * nothing when clicked. This script (loaded by myst-nb with the widget JavaScript, on pages with
 * widgets only; see nb_ipywidgets_js in _config.yml) finds every panel by its CSS class
 * `cookbook-lab`, disables the buttons inside it and gives the panel and its buttons a title:
 * the text of the panel's `cookbook-lab-static-note` widget (the final frame below is from a run
 * made when the book was built; Open in Colab or a local Jupyter makes the lab live), or a
 * shorter note of the same sense when the lab was not trained at build time.
 *
 * Widgets render asynchronously (embed-amd.js draws them after the page has loaded, and each
 * child view is added when it is ready), so a MutationObserver re-applies this as they appear.
 * Written for this book; same licence as the book's code.
 */
(function () {
  "use strict";

  var FALLBACK_NOTE =
    "This is a static page: no Python runs behind the lab, so its buttons do nothing. " +
    "Open the chapter in Colab (the rocket button at the top) or in a local Jupyter to train live.";

  function noteFor(panel) {
    var note = panel.querySelector(".cookbook-lab-static-note");
    var text = note ? (note.textContent || "").replace(/\s+/g, " ").trim() : "";
    return text || FALLBACK_NOTE;
  }

  function freeze(panel) {
    var note = noteFor(panel);
    if (panel.title !== note) panel.title = note;
    var buttons = panel.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) {
      // only write what differs: every write is a mutation the observer below would see again
      if (!buttons[i].disabled) buttons[i].disabled = true;
      if (buttons[i].title !== note) buttons[i].title = note;
    }
  }

  function freezeAll() {
    var panels = document.querySelectorAll(".cookbook-lab");
    for (var i = 0; i < panels.length; i++) freeze(panels[i]);
  }

  var scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setTimeout(function () {
      scheduled = false;
      freezeAll();
    }, 0);
  }

  function start() {
    freezeAll();
    new MutationObserver(schedule).observe(document.body, {
      childList: true,
      subtree: true,
      characterData: true, // the note's text arrives after its widget's element
      attributes: true,
      attributeFilter: ["disabled"], // a view that re-enables a button from its model state
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
