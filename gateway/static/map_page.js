// Starts the map on every element that carries its options (data-map-options, JSON written by the
// template): no inline script, so the console's CSP allows scripts from the gateway only.
(function () {
  document.querySelectorAll("[data-map-options]").forEach(function (el) {
    govopsMap(el, JSON.parse(el.dataset.mapOptions));
  });
})();
