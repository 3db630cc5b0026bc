/* Shop pages: the checkout's station filter and "use my location", a confirm before cancelling,
   one submit per form, and waiting for a QR payment. Everything works without it (the station
   filter is then the server's, by the 查找 button); this only saves typing and reloads. */
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
        location.href = "/checkout?method=station_pickup&near=" + encodeURIComponent(near) + "#stations";
      }, function () {
        if (status) { status.textContent = "无法获取位置，请选择乡镇和村查找。"; }
      }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 });
    });
  }

  // Checkout: filter the stations as the customer types (township, village, station name), hiding
  // townships left empty; the chosen station always stays in view.
  var filter = document.querySelector("[data-station-filter]");
  var finder = document.getElementById("station-finder");
  var count = document.getElementById("station-count");
  var none = document.getElementById("station-none");
  var chosen = document.getElementById("station-chosen");
  var applyFilter = function () {
    var needle = filter.value.trim().toLowerCase();
    var shown = 0;
    Array.prototype.forEach.call(document.querySelectorAll("[data-station-group]"), function (group) {
      var visible = 0;
      Array.prototype.forEach.call(group.querySelectorAll("li[data-search]"), function (item) {
        var radio = item.querySelector("input[type=radio]");
        var match = !needle || item.getAttribute("data-search").toLowerCase().indexOf(needle) !== -1 ||
          (radio && radio.checked);
        item.hidden = !match;
        if (match) { visible += 1; }
      });
      group.hidden = visible === 0;
      shown += visible;
    });
    if (count) {
      var total = count.getAttribute("data-total");
      count.textContent = needle ? "“" + filter.value.trim() + "”找到 " + shown + " 个村站（共 " + total + " 个）"
        : "共 " + total + " 个村站，按乡镇分组";
    }
    if (none) { none.hidden = shown > 0; }
  };
  if (filter) {
    filter.addEventListener("input", applyFilter);
    if (finder) {
      // The page already filtered: Enter (or 查找) must not reload it and lose what was typed.
      finder.addEventListener("submit", function (event) { event.preventDefault(); applyFilter(); });
    }
  }
  if (chosen) {
    Array.prototype.forEach.call(document.querySelectorAll("input[name=station_code]"), function (radio) {
      radio.addEventListener("change", function () {
        if (!radio.checked) { return; }
        chosen.textContent = "已选：";
        var name = document.createElement("strong");
        name.textContent = radio.getAttribute("data-label");
        chosen.appendChild(name);
      });
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
