/* Stock pages: a scanner-friendly product field and a confirm before posting. No framework. */
(function () {
  "use strict";

  function byId(id) {
    return id ? document.getElementById(id) : null;
  }

  // After a product is picked: show its unit next to the quantity, and suggest its usual supplier.
  function variantPicked(select) {
    var option = select.options[select.selectedIndex];
    var hint = byId(select.getAttribute("data-unit-hint"));
    if (hint && option && option.value) {
      hint.textContent = "单位：" + option.getAttribute("data-unit-zh") +
        (option.getAttribute("data-weight") === "1" ? "，可填小数（最多三位，千克即精确到克）" : "，请填整数");
    }
    var supplier = byId(select.getAttribute("data-supplier"));
    var usual = option ? option.getAttribute("data-supplier") : "";
    // Only fill it when empty or filled by us before: a supplier chosen by hand stays.
    if (supplier && usual && (!supplier.value || supplier.getAttribute("data-auto") === "1")) {
      supplier.value = usual;
      supplier.setAttribute("data-auto", "1");
      supplier.addEventListener("change", function () {
        supplier.removeAttribute("data-auto");
      }, { once: true });
    }
  }

  // A keyboard-wedge scanner types the EAN-13 barcode (or someone types a SKU) and presses Enter.
  // Enter here must not submit a half-filled form: resolve the code to the product list and move
  // on to the next field instead.
  Array.prototype.forEach.call(document.querySelectorAll("input[data-scan-for]"), function (scan) {
    var select = byId(scan.getAttribute("data-scan-for"));
    var next = byId(scan.getAttribute("data-next"));
    var status = byId(scan.getAttribute("data-status"));
    if (!select) {
      return;
    }
    function say(text, bad) {
      if (status) {
        status.textContent = text;
        status.className = "hint scan-status" + (bad ? " bad" : "");
      }
    }
    scan.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") {
        return;
      }
      event.preventDefault();
      var code = scan.value.trim();
      if (!code) {
        select.focus();
        return;
      }
      var match = null;
      for (var i = 0; i < select.options.length; i += 1) {
        var option = select.options[i];
        if (option.value && (option.value === code.toUpperCase() || option.getAttribute("data-barcode") === code)) {
          match = option;
          break;
        }
      }
      if (!match) {
        say("没有找到条码或 SKU：" + code, true);
        scan.select();
        return;
      }
      select.value = match.value;
      variantPicked(select);
      say("已识别：" + match.textContent.trim(), false);
      if (next) {
        next.focus();
        if (next.select) {
          next.select();
        }
      }
    });
    // Picked by hand: the scanned code no longer applies (the server prefers the scan field).
    select.addEventListener("change", function () {
      scan.value = "";
      say("", false);
      variantPicked(select);
    });
    if (select.value) {
      variantPicked(select);
    }
  });

  // Buttons that change what cannot be undone ask first (the count sheet's "post").
  Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      var question = button ? button.getAttribute("data-confirm") : null;
      if (question && !window.confirm(question)) {
        event.preventDefault();
      }
    });
  });
})();
