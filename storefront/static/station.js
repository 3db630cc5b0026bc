/* Station console: keyboard-wedge scanning without half-sent forms. No framework. (Printing: print.js.)
   A USB scanner types the code and presses Enter. In a form with more than one field, Enter must
   move on to the next field instead of submitting. Without this script the server still copes:
   a form without a pickup code is refused without counting an attempt. */
(function () {
  "use strict";

  function byId(id) {
    return id ? document.getElementById(id) : null;
  }

  function focusField(field) {
    if (field) {
      field.focus();
      if (field.select) {
        field.select();
      }
    }
  }

  // A scan replaces what the field held: selecting it on focus means the scanner's keystrokes
  // overwrite the last code instead of being appended to it.
  Array.prototype.forEach.call(document.querySelectorAll("input.scan-input"), function (input) {
    input.addEventListener("focus", function () {
      input.select();
    });
  });

  // The parcel's summary (recipient, amount due, payment choice) from the server, right after a scan.
  function lookUp(input, then) {
    var url = input.getAttribute("data-lookup");
    var target = byId(input.getAttribute("data-target"));
    var code = input.value.trim().toUpperCase();
    if (!url || !target || !code || input.getAttribute("data-looked-up") === code) {
      then();
      return;
    }
    input.setAttribute("data-looked-up", code);
    target.setAttribute("aria-busy", "true");
    fetch(url + "?tracking=" + encodeURIComponent(code), {
      credentials: "same-origin",
      headers: { Accept: "text/html" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        target.innerHTML = html;
      })
      .catch(function () {
        input.removeAttribute("data-looked-up");
        target.innerHTML = "";
        var note = document.createElement("p");
        note.className = "errors";
        note.textContent = "暂时读不到包裹信息（网络不通或登录已过期）；可以继续输入取货码后提交。";
        target.appendChild(note);
      })
      .then(function () {
        target.removeAttribute("aria-busy");
        then();
      });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-enter-next]"), function (input) {
    var next = byId(input.getAttribute("data-enter-next"));
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") {
        return;
      }
      event.preventDefault();
      if (!input.value.trim()) {
        return;
      }
      // Move on at once (the customer is already saying the code); the summary follows.
      focusField(next);
      lookUp(input, function () {});
    });
    // Typed by hand and left with Tab or a tap: show the summary all the same.
    input.addEventListener("change", function () {
      lookUp(input, function () {});
    });
  });

  // The last field: Enter sends the form only when nothing it needs is still missing.
  Array.prototype.forEach.call(document.querySelectorAll("input[data-enter-submit]"), function (input) {
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") {
        return;
      }
      var form = input.form;
      if (!input.value.trim()) {
        event.preventDefault();
        return;
      }
      var methods = form.querySelectorAll("input[name=collect_method]");
      if (methods.length && !form.querySelector("input[name=collect_method]:checked")) {
        event.preventDefault();
        methods[0].focus();
        return;
      }
      var proxy = form.querySelector("input[name=proxy]");
      var name = form.querySelector("input[name=collected_by_name]");
      if (proxy && proxy.checked && name && !name.value.trim()) {
        event.preventDefault();
        focusField(name);
      }
    });
  });

  // The proxy collector's name is asked for as soon as 代取 is ticked.
  var proxyBox = document.querySelector("input[name=proxy]");
  if (proxyBox) {
    proxyBox.addEventListener("change", function () {
      if (proxyBox.checked) {
        focusField(proxyBox.form.querySelector("input[name=collected_by_name]"));
      }
    });
  }
})();
