/* referralnet: a county chosen on the coverage map swaps its row in place, as the matrix's county links do.
   htmx handles only HTML links, and the map's counties are SVG links: a click on one follows the matrix link of
   the same county (hx-get, hx-push-url) instead. Without this script (or htmx) the map's links load the page.
   No other host is contacted. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (!window.htmx || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
    var link = event.target.closest && event.target.closest("svg.county-map a[id^='map-']");
    if (!link) { return; }
    var twin = document.getElementById("row-" + link.id.slice(4));
    var target = twin && twin.querySelector("a[hx-get]");
    if (!target) { return; }
    event.preventDefault();
    target.click();
  });
}());
