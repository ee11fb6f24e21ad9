// paas web console: small enhancements only; every action also works without JavaScript.
(function () {
  "use strict";

  // Logs: follow new lines live over Server-Sent Events.
  var log = document.getElementById("log");
  if (log && log.dataset.stream && window.EventSource) {
    var status = document.getElementById("live-status");
    var source = new EventSource(log.dataset.stream);
    source.onopen = function () {
      if (status) status.textContent = "Live: new lines appear as they come.";
      log.dataset.live = "open";
    };
    source.onmessage = function (event) {
      var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
      log.appendChild(document.createTextNode(event.data + "\n"));
      if (atBottom) log.scrollTop = log.scrollHeight;
    };
    source.onerror = function () {
      if (status) status.textContent = "Live tail interrupted; reconnecting...";
    };
    log.scrollTop = log.scrollHeight;
  }

  // Destroy: the button stays disabled until the app's name is typed.
  var confirm = document.querySelector("input[data-confirm]");
  if (confirm) {
    var button = confirm.form && confirm.form.querySelector("button[type=submit]");
    var check = function () { if (button) button.disabled = confirm.value !== confirm.dataset.confirm; };
    confirm.addEventListener("input", check);
    check();
  }
})();
