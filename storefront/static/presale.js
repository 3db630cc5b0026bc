/* Pre-sale pages: the countdown to a wave's cut-off, ticking once a second from the time the
   server wrote in the page (the server-rendered text stays right without JS, as of page load). */
(function () {
  "use strict";
  var pad = function (n) { return n < 10 ? "0" + n : String(n); };
  var tick = function () {
    var nodes = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < nodes.length; i += 1) {
      var node = nodes[i];
      var left = Math.floor((Date.parse(node.getAttribute("data-countdown")) - Date.now()) / 1000);
      if (isNaN(left)) { continue; }
      if (left <= 0) {
        node.textContent = "已截单";
        continue;
      }
      var days = Math.floor(left / 86400);
      var hours = Math.floor((left % 86400) / 3600);
      var minutes = Math.floor((left % 3600) / 60);
      var seconds = left % 60;
      node.textContent = "距截单 " + (days > 0 ? days + " 天 " : "") + pad(hours) + ":" + pad(minutes) + ":" + pad(seconds);
    }
  };
  if (document.querySelector("[data-countdown]")) {
    tick();
    setInterval(tick, 1000);
  }
}());
