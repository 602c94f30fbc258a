// newssearch page: search as you type, filters that apply at once, and a filter box
// for long facet lists. Without JavaScript the page is a plain GET form and links;
// with it, the same URLs are fetched and the results part of the page is swapped.
// Loaded as a file: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var DEBOUNCE_MS = 250;
  var form = document.getElementById("search");
  var box = document.getElementById("q");
  if (!form || !box) return;
  var timer = null;
  var latest = 0;
  var controller = null;

  function currentUrl() {
    var data = new FormData(form); // includes the filters outside the form (form="search")
    var query = new URLSearchParams();
    data.forEach(function (value, name) {
      if (String(value).trim() !== "") query.append(name, value);
    });
    var text = query.toString();
    return "/" + (text ? "?" + text : "");
  }

  function load(url, how) {
    var area = document.getElementById("results-area");
    var mine = ++latest;
    if (controller) controller.abort();
    controller = new AbortController();
    if (area) area.setAttribute("aria-busy", "true");
    var active = document.activeElement;
    var focusKey = active && active !== box && active.name ? [active.name, active.value] : null;
    fetch(url, { headers: { Accept: "text/html" }, signal: controller.signal })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (mine !== latest) return; // a newer request has been made
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("results-area");
        var old = document.getElementById("results-area");
        if (!fresh || !old) { window.location.assign(url); return; }
        old.replaceWith(fresh);
        document.title = page.title;
        if (how === "push") history.pushState({}, "", url);
        else if (how === "replace") history.replaceState({}, "", url);
        enhance(fresh);
        // The results are replaced wholesale; a live region outside them tells a
        // screen reader what changed.
        var announce = document.getElementById("announce");
        var parts = fresh.querySelectorAll(".notice, .total");
        var said = [];
        for (var j = 0; j < parts.length; j++) said.push(parts[j].textContent.replace(/\s+/g, " ").trim());
        if (announce) announce.textContent = said.join(" ");
        if (focusKey) {
          var inputs = fresh.querySelectorAll("[name]");
          for (var i = 0; i < inputs.length; i++) {
            if (inputs[i].name === focusKey[0] && inputs[i].value === focusKey[1]) { inputs[i].focus(); break; }
          }
        }
      })
      .catch(function (error) {
        if (error.name !== "AbortError") window.location.assign(url);
      });
  }

  function enhance(root) {
    var boxes = root.querySelectorAll(".facet-filter");
    for (var i = 0; i < boxes.length; i++) boxes[i].hidden = false;
    var details = root.querySelector("details.filters");
    if (details && window.matchMedia("(max-width: 760px)").matches && !root.querySelector(".filters input:checked")) {
      details.open = false;
    }
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { load(currentUrl(), "replace"); }, DEBOUNCE_MS);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    load(currentUrl(), "push");
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.hasAttribute && target.hasAttribute("data-autosubmit")) {
      clearTimeout(timer);
      load(currentUrl(), "push");
    }
  });

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target || !target.classList || !target.classList.contains("facet-filter")) return;
    var list = document.getElementById(target.getAttribute("data-filter"));
    if (!list) return;
    var needle = target.value.trim().toLowerCase();
    var items = list.querySelectorAll("li");
    for (var i = 0; i < items.length; i++) {
      var name = items[i].querySelector(".facet-name");
      var checked = items[i].querySelector("input:checked");
      items[i].hidden = !!needle && !checked && !(name && name.textContent.toLowerCase().indexOf(needle) >= 0);
    }
  });

  window.addEventListener("popstate", function () {
    var params = new URLSearchParams(window.location.search);
    box.value = params.get("q") || "";
    load(window.location.href, null);
  });

  enhance(document);
})();
