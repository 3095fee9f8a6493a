// When the dashboard answers 401 to a layout or callback request (the session expired, was logged out
// elsewhere, or the user was removed), go to the sign-in page and come back here afterwards, instead of
// leaving a page whose callbacks fail one by one. Open mode never answers 401, so nothing changes there.
(function () {
  var fetch = window.fetch;
  var leaving = false;
  window.fetch = function () {
    return fetch.apply(this, arguments).then(function (response) {
      if (response.status === 401 && !leaving && /\/_dash-/.test(response.url)) {
        leaving = true;
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
