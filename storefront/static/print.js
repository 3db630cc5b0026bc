/* Print a PDF (labels, manifests) straight from the page: [data-print-pdf] on a button, or on a link
   to the same PDF so that without this script the link still opens it. If the browser will not
   print from a frame, the PDF opens in a new tab instead. No framework. */
(function () {
  "use strict";

  Array.prototype.forEach.call(document.querySelectorAll("[data-print-pdf]"), function (trigger) {
    trigger.addEventListener("click", function (event) {
      event.preventDefault();
      var url = trigger.getAttribute("data-print-pdf");
      var frame = document.createElement("iframe");
      frame.className = "print-frame";
      frame.setAttribute("aria-hidden", "true");
      frame.src = url;
      frame.addEventListener("load", function () {
        try {
          frame.contentWindow.focus();
          frame.contentWindow.print();
        } catch (error) {
          window.open(url, "_blank", "noopener");
        }
      });
      document.body.appendChild(frame);
    });
  });
})();
