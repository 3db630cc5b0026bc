/* Shop pages: "use my location", a confirm before cancelling, one submit per form, and waiting
   for a QR payment. Everything works without it; this only saves typing and reloads. */
(function () {
  "use strict";

  // Checkout: reload the station list nearest to where the phone is.
  var geo = document.querySelector("[data-geo]");
  var status = document.getElementById("geo-status");
  if (geo && navigator.geolocation) {
    geo.hidden = false;
    geo.addEventListener("click", function () {
      if (status) { status.textContent = "正在获取您的位置…"; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        var near = pos.coords.latitude.toFixed(5) + "," + pos.coords.longitude.toFixed(5);
        location.href = "/checkout?method=station_pickup&near=" + encodeURIComponent(near) + "#delivery";
      }, function () {
        if (status) { status.textContent = "无法获取位置，请选择乡镇和村查找。"; }
      }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // A double tap must not post twice (the server would still make one order: idempotency key).
  Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { setTimeout(function () { button.disabled = true; button.textContent = "正在提交…"; }, 0); }
    });
  });

  // WeChat Pay QR: ask every few seconds whether the order is paid, then open the order page.
  var poll = document.querySelector("[data-poll]");
  if (poll && window.fetch) {
    var tries = 0;
    var check = function () {
      tries += 1;
      fetch(poll.getAttribute("data-poll"), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && s.status !== "pending_payment") {
            location.href = poll.getAttribute("data-done");
          } else if (tries < 200) {
            setTimeout(check, 3000);
          }
        }, function () { if (tries < 200) { setTimeout(check, 6000); } });
    };
    setTimeout(check, 3000);
  }
}());
