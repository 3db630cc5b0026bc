/* Claim form: shrink the photos in the browser before upload (a phone photo of several MB becomes
   a JPEG of a few hundred KB, longest side data-max-side px), show small previews, then send the
   form with fetch. Without this script (or without canvas) the form posts the original files and
   the server checks them just the same. */
(function () {
  "use strict";
  var form = document.querySelector("[data-claim-form]");
  if (!form || !window.FormData || !window.fetch || !HTMLCanvasElement.prototype.toBlob) { return; }
  var input = form.querySelector("input[type=file][name=photos]");
  var status = document.getElementById("c-photos-status");
  var previews = document.getElementById("c-previews");
  var maxSide = parseInt(form.getAttribute("data-max-side"), 10) || 1600;
  var maxPhotos = parseInt(form.getAttribute("data-max-photos"), 10) || 6;
  var shrunk = [];

  function say(text) { if (status) { status.textContent = text; } }

  function shrink(file) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onerror = function () { resolve(file); };
      reader.onload = function () {
        var img = new Image();
        img.onerror = function () { resolve(file); }; // not an image we can read: the server decides
        img.onload = function () {
          var scale = Math.min(1, maxSide / Math.max(img.width, img.height));
          var canvas = document.createElement("canvas");
          canvas.width = Math.round(img.width * scale);
          canvas.height = Math.round(img.height * scale);
          canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
          canvas.toBlob(function (blob) {
            if (!blob || blob.size >= file.size) { resolve(file); return; }
            resolve(new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" }));
          }, "image/jpeg", 0.85);
          if (previews) {
            var thumb = document.createElement("canvas");
            var t = Math.min(1, 96 / Math.max(img.width, img.height));
            thumb.width = Math.round(img.width * t);
            thumb.height = Math.round(img.height * t);
            thumb.getContext("2d").drawImage(img, 0, 0, thumb.width, thumb.height);
            var shown = document.createElement("img");
            shown.src = thumb.toDataURL("image/jpeg", 0.7);
            shown.alt = file.name;
            previews.appendChild(shown);
          }
        };
        img.src = reader.result;
      };
      reader.readAsDataURL(file);
    });
  }

  input.addEventListener("change", function () {
    shrunk = [];
    if (previews) { previews.textContent = ""; }
    var files = Array.prototype.slice.call(input.files || []);
    if (files.length > maxPhotos) { say("最多上传 " + maxPhotos + " 张照片"); }
    say("正在压缩 " + files.length + " 张照片…");
    Promise.all(files.map(shrink)).then(function (done) {
      shrunk = done;
      var kb = Math.round(done.reduce(function (sum, f) { return sum + f.size; }, 0) / 1024);
      say("已选 " + done.length + " 张照片，共约 " + kb + " KB");
    });
  });

  form.addEventListener("submit", function (event) {
    if (!shrunk.length) { return; } // nothing shrunk yet: let the browser post the form itself
    event.preventDefault();
    var data = new FormData(form);
    data.delete("photos");
    shrunk.forEach(function (file) { data.append("photos", file, file.name); });
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    say("正在上传…");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin" }).then(function (response) {
      if (response.redirected) {
        // fetch drops the redirect's #fragment: land on the order page's claims section as the
        // form without this script does.
        location.href = response.url + (response.url.indexOf("done=claim_filed") !== -1 ? "#claims" : "");
        return null;
      }
      return response.text().then(function (html) {
        // The server's answer is the form again with its errors: show it as the page.
        var doc = new DOMParser().parseFromString(html, "text/html");
        var main = doc.querySelector("main");
        var here = document.querySelector("main");
        if (main && here) { here.innerHTML = main.innerHTML; } else { document.body.innerHTML = doc.body.innerHTML; }
        window.scrollTo(0, 0);
      });
    }).catch(function () {
      say("网络异常，请重试");
      if (button) { button.disabled = false; }
    });
  });
})();
