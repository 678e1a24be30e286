// Release furniture of the safeguarding-qa report site: the version switcher, the
// old-release notice and a "Copy citation" button on each finding.
// Reads versions.json at the site root; keeps the reader on the same page where it exists.
// The page's release, round and citation template are meta tags written by
// analysis.publish.decorate (sqa-version, sqa-version-name, sqa-citable, sqa-round,
// sqa-round-title, sqa-cite).
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

  // One name per release, as analysis.publish.release_name gives it.
  function releaseName(rel) {
    if (rel.name) { return rel.name; }
    return rel.version === "preview" ? "preview (not citable)" : "version " + rel.version;
  }

  // ---- Copy citation: one button per finding (id, round and release; never on a preview).
  var CITE_ID = "SQAFINDINGID";
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.left = "-9999px";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }
  function citationControls() {
    var template = meta("sqa-cite");
    var citable = meta("sqa-citable") === "true";
    var findings = document.querySelectorAll(".finding[id]");
    Array.prototype.forEach.call(findings, function (finding) {
      if (finding.querySelector(".sqa-cite")) { return; }
      var fid = finding.id;
      var box = document.createElement("div");
      box.className = "sqa-cite";
      if (!citable || !template) {
        if (!citable) {
          var none = document.createElement("p");
          none.className = "sqa-cite-none";
          none.textContent = "This is a preview: its findings are not citable. " +
            "Cite a numbered release.";
          box.appendChild(none);
          finding.appendChild(box);
        }
        return;
      }
      var citation = template.split(CITE_ID).join(fid);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sqa-cite-button";
      button.textContent = "Copy citation";
      button.setAttribute("aria-describedby", fid + "-cite-status");
      button.setAttribute("data-citation", citation);
      var status = document.createElement("span");
      status.className = "sqa-cite-status";
      status.id = fid + "-cite-status";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      button.addEventListener("click", function () {
        copyText(citation).then(function () {
          status.textContent = "Citation copied: " + citation;
        }, function () {
          status.textContent = "Could not copy; select and copy this citation: " + citation;
        });
      });
      box.appendChild(button);
      box.appendChild(status);
      finding.appendChild(box);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", citationControls);
  } else {
    citationControls();
  }

  // ---- Version switcher and old-release notice.
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
          opt.textContent = releaseName(rel) + (rel.version === data.latest ? " (latest)" : "");
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
        var mine = releases.filter(function (r) { return r.version === version; })[0];
        notice.textContent = "You are reading " + (mine ? releaseName(mine) : version) +
          "; the latest is " + (latest ? releaseName(latest) : data.latest) + ". ";
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
