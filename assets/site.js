// signpost pages: small progressive enhancements. Every form works without this file.
// The shortlist lives in this browser tab only (sessionStorage): nothing about a caller
// is sent to or kept on the server.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var KEY = "signpost-shortlist";

  function load() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(items) {
    sessionStorage.setItem(KEY, JSON.stringify(items));
    showCount(items);
  }
  function showCount(items) {
    var els = document.querySelectorAll("[data-shortlist-count]");
    for (var i = 0; i < els.length; i++) {
      els[i].textContent = items.length ? "(" + items.length + ")" : "";
    }
  }
  function has(items, id) {
    for (var i = 0; i < items.length; i++) { if (items[i].id === id) return i; }
    return -1;
  }

  // "Add to shortlist" buttons on results and service pages.
  function wireAddButtons() {
    var buttons = document.querySelectorAll("[data-shortlist-item]");
    var items = load();
    function label(btn, on) {
      btn.setAttribute("aria-pressed", on ? "true" : "false");
      btn.textContent = on ? "On shortlist (remove)" : "Add to shortlist";
    }
    for (var i = 0; i < buttons.length; i++) {
      (function (btn) {
        var item = JSON.parse(btn.getAttribute("data-shortlist-item"));
        label(btn, has(items, item.id) >= 0);
        btn.addEventListener("click", function () {
          var now = load();
          var at = has(now, item.id);
          if (at >= 0) { now.splice(at, 1); } else { item.note = ""; now.push(item); }
          save(now);
          label(btn, at < 0);
          announce(at < 0 ? item.name + " added to the shortlist" : item.name + " removed from the shortlist");
        });
      })(buttons[i]);
    }
  }

  function announce(text) {
    var live = document.getElementById("live");
    if (live) { live.textContent = text; }
  }

  // The shortlist as text to read out, or paste into an SMS or email.
  function asText(items) {
    return items.map(function (s, n) {
      var lines = [(n + 1) + ". " + s.name + (s.organization ? " (" + s.organization + ")" : "")];
      if (s.phones && s.phones.length) lines.push("   Phone: " + s.phones.join(", "));
      if (s.refer) lines.push("   How to refer: " + s.refer);
      if (s.address) lines.push("   Address: " + s.address);
      if (s.hours) lines.push("   Opening hours: " + s.hours);
      if (s.url) lines.push("   Website: " + s.url);
      if (s.note) lines.push("   Note: " + s.note);
      return lines.join("\n");
    }).join("\n\n");
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]); }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function renderShortlist(root) {
    var items = load();
    var list = root.querySelector("[data-list]");
    var text = root.querySelector("textarea[data-text]");
    var empty = root.querySelector("[data-empty]");
    list.innerHTML = "";
    empty.hidden = items.length > 0;
    items.forEach(function (s, n) {
      var li = el("li", { "class": "shortlist-item" });
      var h = el("h2", {});
      var a = el("a", { href: "/services/" + s.id }, s.name);
      h.appendChild(a);
      li.appendChild(h);
      if (s.organization) li.appendChild(el("p", { "class": "muted" }, s.organization));
      var facts = el("dl", { "class": "facts" });
      [["Phone", (s.phones || []).join(", ")], ["How to refer", s.refer], ["Address", s.address], ["Opening hours", s.hours], ["Website", s.url]].forEach(function (f) {
        if (f[1]) { facts.appendChild(el("dt", {}, f[0])); facts.appendChild(el("dd", {}, f[1])); }
      });
      li.appendChild(facts);
      var noteId = "note-" + n;
      var field = el("div", { "class": "field no-print" });
      field.appendChild(el("label", { "for": noteId }, "Note for " + s.name));
      var note = el("textarea", { id: noteId, rows: "2" });
      note.value = s.note || "";
      note.addEventListener("input", function () {
        var now = load(); now[n].note = note.value; save(now); text.value = asText(now);
      });
      field.appendChild(note);
      li.appendChild(field);
      var actions = el("div", { "class": "actions" });
      var up = el("button", { type: "button", "class": "secondary" }, "Move up");
      up.setAttribute("aria-label", "Move up: " + s.name);
      up.disabled = n === 0;
      up.addEventListener("click", function () { move(n, -1, "up"); });
      var down = el("button", { type: "button", "class": "secondary" }, "Move down");
      down.setAttribute("aria-label", "Move down: " + s.name);
      down.disabled = n === items.length - 1;
      down.addEventListener("click", function () { move(n, 1, "down"); });
      var remove = el("button", { type: "button", "class": "warning" }, "Remove");
      remove.setAttribute("aria-label", "Remove " + s.name);
      remove.addEventListener("click", function () {
        var now = load(); now.splice(n, 1); save(now); renderShortlist(root);
        announce(s.name + " removed");
        var next = root.querySelector("[data-list] button") || root.querySelector("h1");
        if (next) next.focus();
      });
      actions.appendChild(up); actions.appendChild(down); actions.appendChild(remove);
      li.appendChild(actions);
      list.appendChild(li);
    });
    text.value = asText(items);

    function move(n, by, word) {
      var now = load();
      var m = n + by;
      if (m < 0 || m >= now.length) return;
      var t = now[n]; now[n] = now[m]; now[m] = t;
      save(now); renderShortlist(root);
      announce(t.name + " moved " + word);
      var buttons = root.querySelectorAll("[data-list] li")[m].querySelectorAll("button");
      var target = by < 0 ? buttons[0] : buttons[1];
      if (target.disabled) target = buttons[2];
      target.focus();
    }
  }

  function wireShortlistPage() {
    var root = document.getElementById("shortlist");
    if (!root) return;
    renderShortlist(root);
    root.querySelector("[data-copy]").addEventListener("click", function () {
      var text = root.querySelector("textarea[data-text]");
      text.select();
      var done = function () { announce("Shortlist text copied"); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text.value).then(done, function () { document.execCommand("copy"); done(); });
      } else { document.execCommand("copy"); done(); }
    });
    root.querySelector("[data-print]").addEventListener("click", function () { window.print(); });
    root.querySelector("[data-clear]").addEventListener("click", function () {
      save([]); renderShortlist(root); announce("Shortlist cleared");
    });
  }

  // GP practice suggestions while typing a name, street, postcode or code.
  function wireGpSuggestions() {
    var input = document.getElementById("gp");
    var list = document.getElementById("gp-options");
    if (!input || !list) return;
    var timer = null, last = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q.length < 2 || q === last || /^[A-Za-z]\d{5}$/.test(q)) return;
        last = q;
        fetch("/v1/gp-practices?limit=8&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { practices: [] }; })
          .then(function (body) {
            list.innerHTML = "";
            (body.practices || []).forEach(function (p) {
              var o = document.createElement("option");
              o.value = p.code;
              o.label = p.name + (p.postcode ? ", " + p.postcode : "") + (p.status && p.status !== "active" ? " (" + p.status + ")" : "");
              list.appendChild(o);
            });
          })
          .catch(function () {});
      }, 200);
    });
  }

  // After a search, the address bar holds only what is safe to bookmark.
  function keepBookmark() {
    var main = document.getElementById("main");
    var url = main && main.getAttribute("data-bookmark");
    if (url && window.history && history.replaceState) { history.replaceState(null, "", url); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    showCount(load());
    wireAddButtons();
    wireShortlistPage();
    wireGpSuggestions();
    keepBookmark();
  });
})();
