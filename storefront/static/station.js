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

  // The parcel's summary (recipient, amount due, payment choice, and — from a customer's QR — the
  // shelf slot) from the server, right after a scan.
  function lookUp(input, param, value, then) {
    var url = input.getAttribute("data-lookup");
    var target = byId(input.getAttribute("data-target"));
    if (!url || !target || !value || input.getAttribute("data-looked-up") === value) {
      then();
      return;
    }
    input.setAttribute("data-looked-up", value);
    target.setAttribute("aria-busy", "true");
    fetch(url + "?" + param + "=" + encodeURIComponent(value), {
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

  // A customer's pickup QR ("NPO:…") and a parcel's number ("NPP…") may be scanned in either order
  // and into either field: each is moved to its own field. The QR keeps its case (its signature).
  function isQr(text) {
    return /^NPO:/i.test(text.trim());
  }

  function isParcel(text) {
    return /^NPP/i.test(text.trim());
  }

  // Send the form when nothing it needs is missing; otherwise focus what is missing. True if sent.
  function submitWhenComplete(form) {
    var tracking = form.querySelector("input[name=tracking_number]");
    var code = form.querySelector("input[name=code]");
    if (tracking && !tracking.value.trim()) {
      focusField(tracking);
      return false;
    }
    if (code && !code.value.trim()) {
      focusField(code);
      return false;
    }
    var methods = form.querySelectorAll("input[name=collect_method]");
    if (methods.length && !form.querySelector("input[name=collect_method]:checked")) {
      methods[0].focus();
      return false;
    }
    var proxy = form.querySelector("input[name=proxy]");
    var name = form.querySelector("input[name=collected_by_name]");
    if (proxy && proxy.checked && name && !name.value.trim()) {
      focusField(name);
      return false;
    }
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
    return true;
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-enter-next]"), function (input) {
    var next = byId(input.getAttribute("data-enter-next"));
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") {
        return;
      }
      event.preventDefault();
      var value = input.value.trim();
      if (!value) {
        return;
      }
      if (next && isQr(value)) {
        // The customer's QR came first: it is the code; show its parcel, then wait for the box.
        next.value = value;
        input.value = "";
        input.removeAttribute("data-looked-up");
        lookUp(input, "qr", value, function () { focusField(input); });
        return;
      }
      input.value = value.toUpperCase();
      if (next && next.value.trim()) {
        // Both scans are in (the QR or the code first, the parcel now): the summary first, since
        // a pay-at-pickup parcel still needs the payment chosen, then send.
        lookUp(input, "tracking", input.value, function () { submitWhenComplete(input.form); });
        return;
      }
      // Move on at once (the customer is already saying the code); the summary follows.
      focusField(next);
      lookUp(input, "tracking", input.value, function () {});
    });
    // Typed by hand and left with Tab or a tap: show the summary all the same.
    input.addEventListener("change", function () {
      if (!isQr(input.value)) {
        lookUp(input, "tracking", input.value.trim().toUpperCase(), function () {});
      }
    });
  });

  // The last field: Enter sends the form only when nothing it needs is still missing. A parcel's
  // number scanned here while the parcel field is empty goes to the parcel field.
  Array.prototype.forEach.call(document.querySelectorAll("input[data-enter-submit]"), function (input) {
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") {
        return;
      }
      event.preventDefault();
      var form = input.form;
      var tracking = form.querySelector("input[name=tracking_number]");
      var value = input.value.trim();
      if (!value) {
        return;
      }
      if (tracking && isParcel(value) && !tracking.value.trim()) {
        tracking.value = value.toUpperCase();
        input.value = "";
        lookUp(tracking, "tracking", tracking.value, function () { focusField(input); });
        return;
      }
      if (tracking && isQr(value) && !tracking.value.trim()) {
        lookUp(tracking, "qr", value, function () { focusField(tracking); });
        return;
      }
      submitWhenComplete(form);
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
