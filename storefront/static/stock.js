/* Stock pages: a scanner-friendly product field and a confirm before posting. No framework. */
(function () {
  "use strict";

  function byId(id) {
    return id ? document.getElementById(id) : null;
  }

  // Say who is registered as a grower of the chosen product, and whether the chosen supplier is
  // one; when it is not, open the exception panel (the server refuses it without a confirmed
  // exception and a reason).
  function checkGrower(supplier, product) {
    var hint = byId(supplier.getAttribute("data-grower-hint"));
    if (!hint || !product) {
      return;
    }
    var growers = [];
    var chosenGrows = null;
    for (var i = 0; i < supplier.options.length; i += 1) {
      var option = supplier.options[i];
      if (!option.value) {
        continue;
      }
      var grows = (option.getAttribute("data-grows") || "").split(" ").indexOf(product) >= 0;
      if (grows) {
        growers.push(option.textContent.trim());
      }
      if (option.value === supplier.value) {
        chosenGrows = grows;
      }
    }
    var text = growers.length ? "该商品的登记生产者：" + growers.join("、") : "该商品还没有登记生产者";
    if (chosenGrows === false) {
      text += "。所选供应商未登记为该商品的生产者：确属经销或代收，请在下面“按例外收货”并填写原因";
      var panel = byId(supplier.getAttribute("data-exception"));
      if (panel) {
        panel.open = true;
      }
    }
    hint.textContent = text;
    hint.className = "hint" + (chosenGrows === false ? " bad" : "");
  }

  function productOf(select) {
    var option = select.options[select.selectedIndex];
    return option ? option.getAttribute("data-product") : "";
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
    if (supplier) {
      checkGrower(supplier, productOf(select));
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("select[data-grower-hint]"), function (supplier) {
    supplier.addEventListener("change", function () {
      var product = byId(supplier.getAttribute("data-product-select"));
      if (product) {
        checkGrower(supplier, productOf(product));
      }
    });
  });

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
