
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var docs = data.docs, t = data.totals, pageSize = data.pageSize || 25;
  var kindName = ["inside the document", "in an earlier document"];
  function n(x) { return x.toLocaleString("en"); }
  function pct(a, b) { return b ? (100 * a / b).toFixed(2) + "%" : "0.00%"; }
  function plural(k, w) { return n(k) + " " + w + (k === 1 ? "" : "s"); }
  document.getElementById("totals").textContent =
    plural(t.documents, "document") + " analysed, " + n(t.changed) + " changed (" +
    n(t.within) + " with repeats inside, " + n(t.across) + " with passages seen before; " +
    plural(t.spans_within + t.spans_across, "span") + "). Characters: " + n(t.chars_in) + ", " +
    n(t.chars_removed) + " removed (" + pct(t.chars_removed, t.chars_in) + ")" +
    (t.emptied ? ". Left empty: " + n(t.emptied) : "") + (t.dropped ? ", dropped: " + n(t.dropped) : "") + ".";
  // incoming[i]: the spans elsewhere that repeat a passage of document i.
  var incoming = docs.map(function () { return []; });
  docs.forEach(function (d, i) {
    d.spans.forEach(function (s, k) { if (s[3] >= 0) incoming[s[3]].push([s[4], s[5], i, k]); });
  });
  var state = { filter: "", kind: "changed", order: "input", page: 0, list: [] };

  function matches(d, i) {
    var has = function (kind) { return d.spans.some(function (s) { return s[0] === kind; }); };
    if (state.kind === "changed" && !(d.changed || d.dropped)) return false;
    if (state.kind === "within" && !has(0)) return false;
    if (state.kind === "across" && !has(1)) return false;
    if (state.kind === "emptied" && !(d.dropped || d.empty)) return false;
    if (!state.filter) return true;
    var f = state.filter;
    return d.id.toLowerCase().indexOf(f) >= 0 || d.text.toLowerCase().indexOf(f) >= 0;
  }
  function select() {
    state.list = [];
    docs.forEach(function (d, i) { if (matches(d, i)) state.list.push(i); });
    if (state.order === "removed") state.list.sort(function (a, b) { return docs[b].removed - docs[a].removed || a - b; });
    document.getElementById("count").textContent = plural(state.list.length, "document");
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function link(cls, text, doc, go) {
    var a = el("a", cls, text);
    a.href = "#doc-" + doc;  // the click handler jumps to the passage itself
    a.dataset.doc = doc; a.dataset.go = go;
    return a;
  }
  // Where the removed span k of document i came from, shown right after it.
  function fromLink(i, s, k) {
    var same = s[3] === i;
    var a = link("from k" + s[0], same ? "\u2191 repeats above" : "\u2190 seen in " + docs[s[3]].id, s[3],
                 "s-" + s[3] + "-" + i + "-" + k);
    a.title = "removed: repeats a passage " + kindName[s[0]] + ", similarity " + s[6] + "; click to see it";
    return a;
  }
  // The label where kept passages of document i start: which later passages repeat them.
  function keptNote(i, starting) {
    var note = el("span", "kept", "kept, repeated "), later = [];
    starting.forEach(function (r) { if (later.indexOf(r[2]) < 0) later.push(r[2]); });
    later.slice(0, 3).forEach(function (doc, n) {
      var r = starting.filter(function (x) { return x[2] === doc; })[0];
      note.appendChild(document.createTextNode((n ? ", " : "") + (doc === i ? "" : "in ")));
      note.appendChild(link("", doc === i ? "below" : docs[doc].id, doc, "r-" + doc + "-" + r[3]));
    });
    if (later.length > 3) note.appendChild(document.createTextNode(" and " + (later.length - 3) + " more"));
    return note;
  }
  function renderText(i) {
    var d = docs[i], box = el("div", "text"), cuts = [0, d.text.length];
    d.spans.forEach(function (s) { cuts.push(s[1], s[2]); });
    incoming[i].forEach(function (r) { cuts.push(r[0], r[1]); });
    cuts = cuts.filter(function (c, k, a) { return a.indexOf(c) === k; }).sort(function (a, b) { return a - b; });
    for (var c = 0; c + 1 < cuts.length; c++) {
      var a = cuts[c], b = cuts[c + 1], piece = d.text.slice(a, b), node = null;
      var starting = incoming[i].filter(function (r) { return r[0] === a; });
      if (starting.length) box.appendChild(keptNote(i, starting));
      var rm = -1;
      d.spans.forEach(function (s, k) { if (s[1] <= a && b <= s[2]) rm = k; });
      var into = incoming[i].filter(function (r) { return r[0] <= a && b <= r[1]; });
      if (rm >= 0) {
        var s = d.spans[rm];
        node = el("mark", "rm k" + s[0], piece);
        node.title = "removed: repeats a passage " + kindName[s[0]] +
          (s[3] >= 0 && s[3] !== i ? " (" + docs[s[3]].id + ")" : "") + ", similarity " + s[6];
        node.dataset.parts = "r-" + i + "-" + rm;  // every piece of the span: a jump flashes them all
        node.dataset.go = s[3] >= 0 ? "s-" + s[3] + "-" + i + "-" + rm : "";
        node.dataset.doc = s[3];
        box.appendChild(node);
        if (b === s[2] && s[3] >= 0) box.appendChild(fromLink(i, s, rm));
      } else if (into.length) {
        node = el("span", "src", piece);
        node.dataset.parts = into.map(function (x) { return "s-" + i + "-" + x[2] + "-" + x[3]; }).join(" ");
        box.appendChild(node);
        if (incoming[i].some(function (r) { return r[1] === b; })) box.appendChild(el("span", "kept-end", "\u27E7"));
      } else {
        box.appendChild(document.createTextNode(piece));
      }
    }
    return box;
  }
  function renderDoc(i) {
    var d = docs[i], art = el("article");
    art.id = "doc-" + i;
    art.appendChild(el("h2", "", d.id));
    var within = d.spans.filter(function (s) { return s[0] === 0; }).length;
    var across = d.spans.length - within;
    art.appendChild(el("span", "fig", n(d.text.length) + " characters, " + n(d.removed) + " removed (" +
      pct(d.removed, d.text.length) + "); " + plural(within, "repeat") + " inside, " +
      plural(across, "passage") + " seen before" + (d.where ? " \u2014 " + d.where : "")));
    if (d.dropped) art.appendChild(el("span", "tag", "dropped"));
    else if (d.empty) art.appendChild(el("span", "tag", "left empty"));
    else if (!d.changed) art.appendChild(el("span", "tag", "unchanged: source of later passages"));
    art.appendChild(renderText(i));
    return art;
  }
  function renderPager() {
    var pages = Math.max(1, Math.ceil(state.list.length / pageSize));
    Array.prototype.forEach.call(document.querySelectorAll(".pager"), function (nav) {
      nav.textContent = "";
      var prev = el("button", "", "\u2190 previous"), next = el("button", "", "next \u2192");
      prev.type = next.type = "button";
      prev.disabled = state.page === 0; next.disabled = state.page >= pages - 1;
      prev.onclick = function () { show(state.page - 1); };
      next.onclick = function () { show(state.page + 1); };
      nav.appendChild(prev); nav.appendChild(next);
      nav.appendChild(el("span", "", "page " + (state.page + 1) + " of " + pages));
    });
  }
  function show(page) {
    var pages = Math.max(1, Math.ceil(state.list.length / pageSize));
    state.page = Math.min(Math.max(0, page), pages - 1);
    var main = document.getElementById("docs");
    main.textContent = "";
    state.list.slice(state.page * pageSize, (state.page + 1) * pageSize).forEach(function (i) {
      main.appendChild(renderDoc(i));
    });
    renderPager();
  }
  function parts(key) {
    return document.querySelectorAll("[data-parts~='" + key + "']");
  }
  var flashed = [];
  function flash(nodes) {
    flashed.forEach(function (node) { node.classList.remove("flash"); });
    flashed = Array.prototype.slice.call(nodes);
    flashed.forEach(function (node) { void node.offsetWidth; node.classList.add("flash"); });  // restart the animation
  }
  // Show document docIndex and the passage `key` in it (its whole article when key is "doc-N"):
  // another page, or every document when the current choice does not list it.
  function jump(docIndex, key) {
    var listed = state.list.indexOf(docIndex) >= 0;
    if (!listed) {
      state.filter = ""; state.kind = "all";
      document.getElementById("filter").value = ""; document.getElementById("kind").value = "all";
      select();
    }
    var page = Math.floor(state.list.indexOf(docIndex) / pageSize);
    if (!listed || page !== state.page || !document.getElementById("doc-" + docIndex)) show(page);
    var targets = parts(key);
    if (!targets.length) targets = [document.getElementById("doc-" + docIndex)];
    if (!targets[0]) return;
    reveal(targets[0]);
    flash(targets);
  }
  // Scroll the first line of node into view, below the sticky header, also inside its
  // scrolled text box: a passage can be taller than the window, so centring it would hide its start.
  function reveal(node) {
    var first = function () { return node.getClientRects()[0] || node.getBoundingClientRect(); };
    var box = node.closest(".text");
    if (box) box.scrollTop += first().top - box.getBoundingClientRect().top - 24;
    var header = document.querySelector(".top").getBoundingClientRect().bottom;
    window.scrollBy(0, first().top - header - (innerHeight - header) / 3);
  }
  document.getElementById("docs").addEventListener("click", function (event) {
    var node = event.target.closest("[data-go]");
    if (!node || !node.dataset.go) return;
    event.preventDefault();
    jump(+node.dataset.doc, node.dataset.go);
  });
  var timer = null;
  document.getElementById("filter").addEventListener("input", function (event) {
    clearTimeout(timer);
    timer = setTimeout(function () { state.filter = event.target.value.trim().toLowerCase(); select(); show(0); }, 150);
  });
  document.getElementById("kind").addEventListener("change", function (event) { state.kind = event.target.value; select(); show(0); });
  document.getElementById("order").addEventListener("change", function (event) { state.order = event.target.value; select(); show(0); });
  select();
  var hash = /^#doc-(\d+)$/.exec(location.hash);
  show(0);
  if (hash) jump(+hash[1], "doc-" + hash[1]);
  // Milliseconds from navigation to the first page shown (read by benchmarks/bench_report.py).
  document.documentElement.dataset.readyMs = Math.round(performance.now());
})();
