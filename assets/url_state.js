// Back/forward within one page. Filter changes push the new query string with history.pushState
// (dcc.Location refresh=False) without re-rendering the page, so Dash's page router does not know about
// them; when the user steps back to another query of the SAME page, rebuild the page from the URL by
// reloading it. Moving between pages is left to Dash's router.
(function () {
  var path = window.location.pathname;
  window.addEventListener("popstate", function () {
    if (window.location.pathname === path) {
      window.location.reload();
    }
    path = window.location.pathname;
  });
  window.addEventListener("_dashprivate_pushstate", function () {
    path = window.location.pathname;
  });
})();
