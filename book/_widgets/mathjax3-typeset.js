// Bridge between the ipywidgets html-manager and MathJax 3 (part of The SSL Cookbook).
//
// The widget views in embed-amd.js typeset their labels and descriptions with the
// MathJax 2 API, `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`, whenever
// `window.MathJax` exists. Sphinx pages with math load MathJax 3, which has no `Hub`,
// so every widget with a description threw "Cannot read properties of undefined
// (reading 'Queue')". This script gives MathJax 3 a minimal `Hub.Queue` that typesets
// the element with `MathJax.typesetPromise`, and does nothing when MathJax is absent
// or failed to load.
//
// It must be loaded before embed-amd.js (see nb_ipywidgets_js in _config.yml): both
// act on the window "load" event, and this listener has to run first. MathJax 3 is
// loaded with `defer`, so it has replaced its configuration object by then.
(function () {
  "use strict";
  function install() {
    var mj = window.MathJax;
    if (mj === undefined || mj.Hub !== undefined) {
      return;
    }
    mj.Hub = {
      Queue: function (job) {
        var element = job && job[2];
        if (!element || typeof mj.typesetPromise !== "function") {
          return; // MathJax 3 did not load (offline?): leave the text as it is
        }
        var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
        ready
          .then(function () {
            return mj.typesetPromise([element]);
          })
          .catch(function (err) {
            console.warn("MathJax could not typeset a widget:", err);
          });
      },
    };
  }
  window.addEventListener("load", install);
})();
