/* referralnet: keeps an offer's "time left" counting down. The server renders the figure; without this
   script that text stands. Reads data-deadline and data-now (the server's clock when it rendered, so a
   wrong clock on the phone does not matter), writes data-format ({h} {m} filled) or data-over.
   Re-scans after htmx swaps in new offers. No other host is contacted. */
(function () {
  "use strict";
  function tick() {
    var nodes = document.querySelectorAll(".countdown[data-deadline]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var deadline = Date.parse(el.getAttribute("data-deadline"));
      var serverNow = Date.parse(el.getAttribute("data-now"));
      if (isNaN(deadline) || isNaN(serverNow)) { continue; }
      if (!el.hasAttribute("data-seen")) { el.setAttribute("data-seen", String(Date.now())); }
      var now = serverNow + (Date.now() - Number(el.getAttribute("data-seen")));
      var left = Math.floor((deadline - now) / 1000);
      var text;
      if (left <= 0) {
        text = el.getAttribute("data-over");
      } else {
        var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60);
        text = el.getAttribute("data-format").replace("{h}", String(h)).replace("{m}", String(m));
      }
      if (el.textContent !== text) { el.textContent = text; }
    }
  }
  tick();
  setInterval(tick, 15000);
  document.addEventListener("htmx:afterSwap", tick);
}());
