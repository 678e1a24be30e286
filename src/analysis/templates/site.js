// Version switcher and old-release notice for the safeguarding-qa report site.
// Reads versions.json at the site root; keeps the reader on the same page where it exists.
(function () {
  "use strict";
  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") : null;
  }
  var version = meta("sqa-version");
  var page = meta("sqa-page");
  var root = meta("sqa-site-root");
  if (!version || !page || root === null) { return; }
  function target(release) {
    var has = release.pages && release.pages.indexOf(page) >= 0;
    return root + "v/" + release.version + "/" + (has ? page : "index.html");
  }
  fetch(root + "versions.json", { cache: "no-store" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data || !data.releases) { return; }
      var releases = data.releases.slice().sort(function (a, b) {
        return a.date < b.date ? 1 : -1;
      });
      var slot = document.querySelector("[data-sqa-switcher]");
      if (slot) {
        var label = document.createElement("label");
        label.setAttribute("for", "sqa-version-select");
        label.textContent = "Other versions: ";
        var select = document.createElement("select");
        select.id = "sqa-version-select";
        releases.forEach(function (rel) {
          var opt = document.createElement("option");
          opt.value = target(rel);
          opt.textContent = rel.version + (rel.version === data.latest ? " (latest)" : "");
          if (rel.version === version) { opt.selected = true; }
          select.appendChild(opt);
        });
        select.addEventListener("change", function () { window.location.href = select.value; });
        slot.appendChild(label);
        slot.appendChild(select);
      }
      var notice = document.querySelector("[data-sqa-notice]");
      if (notice && data.latest && data.latest !== version) {
        var latest = releases.filter(function (r) { return r.version === data.latest; })[0];
        notice.textContent = "You are reading version " + version + "; the latest is " +
          data.latest + ". ";
        var a = document.createElement("a");
        a.href = latest ? target(latest) : root + "latest/index.html";
        a.textContent = "Read this page in the latest version";
        notice.appendChild(a);
        notice.setAttribute("role", "status");
        notice.hidden = false;
      }
    })
    .catch(function () { /* offline or file:// : the noscript link remains */ });
})();
