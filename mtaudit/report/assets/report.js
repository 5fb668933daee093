/* mtaudit HTML report renderer.
 *
 * Security: every string from the data block (document text, messages, evidence) is
 * untrusted. It reaches the page only through textContent, Text nodes and setAttribute
 * on fixed, non-URL attributes; never innerHTML/outerHTML/insertAdjacentHTML/eval, and
 * every href is built from numbers. The page's Content-Security-Policy (hash-pinned
 * scripts) is a second line of defence.
 *
 * Scale: the data for every document is parsed once, but only one page (PAGE_SIZE
 * documents) is turned into DOM at a time.
 */
(function () {
  "use strict";

  var PAGE_SIZE = 50;
  var DATA = JSON.parse(document.getElementById("mtaudit-data").textContent);
  var DOCS = DATA.documents;
  var CATS = DATA.categories;
  var SEVS = ["error", "warning", "info"];
  var state = { page: 0, cats: {}, sevs: {} };
  CATS.forEach(function (c) { state.cats[c] = true; });
  SEVS.forEach(function (s) { state.sevs[s] = true; });

  /* Bidi controls (embeddings, overrides, isolates, LRM/RLM/ALM) shown as "\u202e" text:
     an override in an id or an article must not reverse what the page displays. Applied
     to every string that becomes text (offsets are computed on the data before it). */
  var BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  function showControls(s) {
    return String(s).replace(BIDI, function (c) {
      return "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4);
    });
  }

  /* el("tag", {attr: value}, child, ...): children are nodes or strings (→ Text nodes). */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = showControls(v);
        else if (k === "onclick") node.addEventListener("click", v);
        else node.setAttribute(k, v === true ? "" : showControls(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === "string" ? showControls(c) : c);
    }
    return node;
  }

  function visible(f) { return state.cats[f.category] && state.sevs[f.severity]; }
  function pct(p) { return (Math.round(p * 1000) / 10).toFixed(1) + "%"; }
  function docId(n) { return "doc-" + n; }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function quoted(s) { return el("code", { "class": "t" }, s); }
  function pageOf(n) { return Math.floor(n / PAGE_SIZE); }
  function pages() { return Math.max(1, Math.ceil(DOCS.length / PAGE_SIZE)); }

  /* ---------- header and filters ---------- */

  function renderSummary() {
    var s = DATA.summary;
    var verdicts = Object.keys(s.by_verdict).map(function (v) {
      return s.by_verdict[v] + " " + v;
    }).join(", ");
    var box = document.getElementById("summary");
    box.replaceChildren(
      plural(s.documents, "document") + " (" + verdicts + "), " +
      plural(s.findings, "finding") + (s.baselined ? " (" + s.baselined + " baselined)" : "") +
      ", " + s.failed_documents + " failed the gate" +
      (DATA.errors.length ? ", " + plural(DATA.errors.length, "unreadable input") : "") + "."
    );
    var sig = document.getElementById("signature");
    sig.textContent = DATA.signature;
    if (DATA.errors.length) {
      var ul = el("ul", { "class": "errors" });
      DATA.errors.forEach(function (e) { ul.append(el("li", null, e.path + ": " + e.message)); });
      box.after(ul);
    }
  }

  function renderControls() {
    var box = document.getElementById("controls");
    var cats = el("fieldset", null, el("legend", null, "Categories"));
    CATS.forEach(function (c) {
      var input = el("input", { type: "checkbox", name: "category", value: c, checked: true,
        "data-filter": "category" });
      input.addEventListener("change", function () { state.cats[c] = input.checked; refresh(); });
      cats.append(el("label", null, input,
        el("span", { "class": "swatch cat-" + c, "aria-hidden": "true" }),
        c + " (" + (DATA.summary.by_category[c] || 0) + ")"));
    });
    var sevs = el("fieldset", null, el("legend", null, "Severity"));
    SEVS.forEach(function (s) {
      var input = el("input", { type: "checkbox", name: "severity", value: s, checked: true,
        "data-filter": "severity" });
      input.addEventListener("change", function () { state.sevs[s] = input.checked; refresh(); });
      sevs.append(el("label", null, input, " " + s + " (" + (DATA.summary.by_severity[s] || 0) + ")"));
    });
    box.replaceChildren(cats, sevs);
  }

  /* ---------- index ---------- */

  function renderIndex() {
    var start = state.page * PAGE_SIZE;
    if (!DOCS.length) {
      document.getElementById("index").replaceChildren(el("p", null, "No documents were audited."));
      return;
    }
    var table = el("table", { "class": "index" });
    table.append(el("caption", null,
      "Documents by machine-translation probability (" + (start + 1) + "–" +
      Math.min(DOCS.length, start + PAGE_SIZE) + " of " + DOCS.length + ")"));
    var head = el("tr", null, el("th", { scope: "col", "class": "num" }, "#"),
      el("th", { scope: "col" }, "Document"), el("th", { scope: "col" }, "Verdict"),
      el("th", { scope: "col", "class": "num" }, "MT probability"));
    CATS.forEach(function (c) {
      head.append(el("th", { scope: "col", "class": "num", title: c },
        el("span", { "class": "swatch cat-" + c, "aria-hidden": "true" }), c));
    });
    head.append(el("th", { scope: "col", "class": "num" }, "Shown"));
    table.append(el("thead", null, head));
    var body = el("tbody");
    DOCS.slice(start, start + PAGE_SIZE).forEach(function (d, i) {
      var n = start + i;
      var shown = d.findings.filter(visible).length;
      var fill = el("span");
      fill.style.width = pct(d.p); // CSSOM, not a style attribute: allowed by the CSP
      var row = el("tr", null,
        el("td", { "class": "num" }, String(n + 1)),
        el("td", { "class": "doclink" }, el("a", { href: "#" + docId(n) }, d.id)),
        el("td", null, el("span", { "class": "badge verdict-" + d.verdict }, d.verdict),
          d.failed ? el("span", { "class": "failed", title: "failed the gate" }, " ✗") : null),
        el("td", { "class": "num" }, pct(d.p),
          el("span", { "class": "pbar", "aria-hidden": "true" }, fill)));
      CATS.forEach(function (c) {
        var k = d.counts[c] || 0;
        row.append(el("td", { "class": "num" + (k ? "" : " zero") }, String(k)));
      });
      row.append(el("td", { "class": "num" }, String(shown)));
      body.append(row);
    });
    table.append(body);
    document.getElementById("index").replaceChildren(pager("top"), table);
  }

  function pager(where) {
    var total = pages();
    var nav = el("nav", { "class": "pager", "aria-label": "Pages (" + where + ")" });
    var prev = el("button", { type: "button", disabled: state.page === 0 }, "← Previous");
    var next = el("button", { type: "button", disabled: state.page >= total - 1 }, "Next →");
    prev.addEventListener("click", function () { goPage(state.page - 1); });
    next.addEventListener("click", function () { goPage(state.page + 1); });
    var label = "page-select-" + where;
    var select = el("select", { id: label });
    for (var p = 0; p < total; p++) {
      select.append(el("option", { value: p, selected: p === state.page }, String(p + 1)));
    }
    select.addEventListener("change", function () { goPage(Number(select.value)); });
    nav.append(prev, el("label", { "for": label }, "Page "), select,
      el("span", null, " of " + total), next);
    return nav;
  }

  function goPage(p) {
    state.page = Math.max(0, Math.min(pages() - 1, p));
    refresh();
    document.getElementById("index").scrollIntoView();
  }

  /* ---------- documents ---------- */

  function renderDocuments() {
    var start = state.page * PAGE_SIZE;
    var box = document.getElementById("documents");
    var cards = DOCS.slice(start, start + PAGE_SIZE).map(function (d, i) {
      return renderDocument(d, start + i);
    });
    box.replaceChildren.apply(box, DOCS.length ? cards.concat([pager("bottom")]) : []);
  }

  function renderDocument(d, n) {
    var id = docId(n);
    var card = el("article", { "class": "doc", id: id, "aria-labelledby": id + "-h", tabindex: "-1" });
    var shown = d.findings.filter(visible);
    card.append(el("header", null,
      el("h2", { id: id + "-h" }, (n + 1) + ". " + d.id),
      el("span", { "class": "badge verdict-" + d.verdict }, d.verdict),
      el("span", { "class": "docmeta" },
        "MT probability " + pct(d.p) +
        (d.pt !== undefined ? " · translated " + pct(d.pt) : "") +
        (d.lang ? " · likely source language " + d.lang : "") +
        " · " + d.format + (d.path !== d.id ? " · " + d.path : "") +
        " · " + plural(d.findings.length, "finding") +
        (shown.length !== d.findings.length ? " (" + shown.length + " shown)" : "")),
      d.failed ? el("span", { "class": "failed" }, "failed the gate") : null,
      d.reasons && d.reasons.length ?
        el("p", { "class": "reasons" }, "Why: " + d.reasons.join("; ")) : null));

    var detail = el("div", { "class": "detail", id: id + "-detail", role: "region",
      "aria-live": "polite", "aria-label": "Finding details for " + d.id });
    var grid = el("div", { "class": "docgrid" },
      el("div", null, el("h3", null, "Article text"), renderText(d, n, shown, detail)),
      el("div", null, el("h3", null, "Finding details"), detail));
    showDetail(detail, d, n, null);
    card.append(grid);

    if (d.findings.length) {
      card.append(el("h3", null, "Findings"), renderFindingList(d, n, detail));
    }
    if (d.diff && d.diff.rows.length) {
      card.append(el("h3", null, "Suggested revision"), renderDiff(d, n));
      if (d.diff.skipped.length) {
        card.append(el("p", { "class": "note" }, plural(d.diff.skipped.length, "suggestion") +
          " not applied because it overlaps a more serious finding."));
      }
    }
    return card;
  }

  /* The article text with each visible finding wrapped in a focusable <mark>. Overlapping
     findings split the text at every boundary; a run covered by several findings is one
     mark that lists all of them (coloured by the narrowest). */
  function renderText(d, n, shown, detail) {
    var text = d.text;
    var box = el("div", { "class": "text", lang: "en" });
    var points = [0, text.length];
    shown.forEach(function (f) { points.push(f.start, f.end); });
    points = points.filter(function (v, i, a) { return a.indexOf(v) === i; })
      .sort(function (a, b) { return a - b; });
    var anchored = {};
    function anchor(i, mark) {
      if (anchored[i]) return;
      anchored[i] = true;
      var aid = docId(n) + "-f" + i;
      if (!mark.id) mark.id = aid;
      else box.append(el("span", { id: aid, tabindex: "-1" }));
    }
    for (var k = 0; k < points.length; k++) {
      var a = points[k];
      // Zero-width findings (an insertion point) get a small marker of their own.
      d.findings.forEach(function (f, i) {
        if (f.start === a && f.end === a && visible(f)) {
          var z = makeMark(d, n, [i], detail, true);
          box.append(z);
          anchor(i, z);
        }
      });
      if (k === points.length - 1) break;
      var b = points[k + 1];
      if (b <= a) continue;
      var cover = [];
      d.findings.forEach(function (f, i) {
        if (visible(f) && f.start <= a && f.end >= b && f.end > f.start) cover.push(i);
      });
      var chunk = text.slice(a, b);
      if (!cover.length) { box.append(showControls(chunk)); continue; }
      cover.sort(function (x, y) {
        var fx = d.findings[x], fy = d.findings[y];
        return (fx.end - fx.start) - (fy.end - fy.start) || x - y;
      });
      var mark = makeMark(d, n, cover, detail, false);
      mark.append(showControls(chunk));
      box.append(mark);
      cover.forEach(function (i) { anchor(i, mark); });
    }
    return box;
  }

  function describe(f) {
    return f.code + " " + f.category + " " + f.severity + (f.baselined ? " (baselined)" : "") +
      ": " + f.message;
  }

  /* A finding in the baseline is known and does not fail the gate: tagged and muted. */
  function baselineTag(f) {
    return f.baselined ? el("span", { "class": "basetag", title: "In the baseline: it does not fail the gate" }, "baselined") : "";
  }

  function makeMark(d, n, cover, detail, zero) {
    var f = d.findings[cover[0]];
    var label = cover.map(function (i) { return describe(d.findings[i]); }).join("; ");
    var mark = el("mark", {
      "class": "hl cat-" + f.category + " sev-" + f.severity + (cover.length > 1 ? " multi" : "") +
        (zero ? " zero" : ""),
      tabindex: "0", role: "button", "aria-label": label,
      "data-code": f.code, "data-category": f.category, "data-findings": cover.join(" ")
    });
    function activate(pin) {
      var prev = document.querySelector("mark.hl.active");
      if (prev) prev.classList.remove("active");
      if (pin) mark.classList.add("active");
      showDetail(detail, d, n, cover, pin);
    }
    mark.addEventListener("click", function () { activate(true); });
    mark.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " " || ev.key === "Spacebar") {
        ev.preventDefault();
        activate(true);
      } else if (ev.key === "Escape") {
        mark.classList.remove("active");
        showDetail(detail, d, n, null, true);
      }
    });
    // Hover previews; leaving restores whatever was pinned by a click.
    mark.addEventListener("mouseenter", function () { showDetail(detail, d, n, cover, false); });
    mark.addEventListener("mouseleave", function () {
      showDetail(detail, d, n, detail._pinned || null, false);
    });
    return mark;
  }

  function suggestionNode(f) {
    if (f.suggestion === null || f.suggestion === undefined) {
      return el("p", { "class": "sugg muted" }, "No automatic suggestion.");
    }
    if (f.suggestion === "") {
      return el("p", { "class": "sugg" }, el("strong", null, "Suggestion: "), "delete ", quoted(f.text));
    }
    return el("p", { "class": "sugg" }, el("strong", null, "Suggestion: "), "replace ",
      quoted(f.text), " with ", quoted(f.suggestion));
  }

  var EVIDENCE_LABELS = {
    source: "Source idiom", idiom: "Idiom", literal: "Literal reading", meaning: "Meaning",
    language: "Language", source_language: "Source language", pattern: "Pattern",
    lexicon: "Lexicon", surprisal: "Surprisal (nats/token)", percentile: "Percentile",
    english: "English equivalents", score: "Match score", source_words: "Source words",
    idiom_id: "Idiom id"
  };
  // Unknown evidence keys from newer detectors: "some_key" -> "Some key".
  function label(k) {
    if (EVIDENCE_LABELS[k]) return EVIDENCE_LABELS[k];
    var s = String(k).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
  var BT_LABELS = [["text", "Back-translation"], ["round_trip", "Round trip"], ["chrf", "chrF"],
    ["matched_idiom", "Matched idiom"], ["match_score", "Match score"], ["engine", "Engine"],
    ["language", "Language"]];

  function fmt(v) {
    if (typeof v === "number") return String(Math.round(v * 100) / 100);
    if (typeof v === "string") return v;
    if (Array.isArray(v) && v.every(function (x) { return typeof x !== "object"; })) {
      return v.map(String).join("; ");
    }
    return JSON.stringify(v);
  }

  function evidenceNode(f) {
    var ev = f.evidence || {};
    var dl = el("dl");
    Object.keys(ev).forEach(function (k) {
      if (k === "back_translation") return;
      var v = ev[k];
      if (v === null || v === "" || (Array.isArray(v) && !v.length)) return; // nothing to show
      dl.append(el("dt", null, label(k)), el("dd", null, fmt(ev[k])));
    });
    var bt = ev.back_translation;
    if (bt && typeof bt === "object") {
      BT_LABELS.forEach(function (pair) {
        if (bt[pair[0]] !== undefined && bt[pair[0]] !== null) {
          dl.append(el("dt", null, pair[1]), el("dd", null, fmt(bt[pair[0]])));
        }
      });
    }
    return dl.childNodes.length ? dl : null;
  }

  function showDetail(detail, d, n, cover, pin) {
    if (pin) detail._pinned = cover;
    if (!cover || !cover.length) {
      detail.replaceChildren(el("p", { "class": "none" }, d.findings.length
        ? "Select a highlighted span (click, or Tab to it and press Enter) to see its finding."
        : "No findings in this document."));
      return;
    }
    var items = cover.map(function (i) {
      var f = d.findings[i];
      var rule = DATA.rules[f.code] || {};
      var item = el("div", { "class": "item", "data-finding": i },
        el("div", null, el("span", { "class": "code" }, f.code),
          " ", rule.name || "", " ",
          el("span", { "class": "sevtag " + f.severity }, f.severity), " ", baselineTag(f)),
        el("p", { "class": "msg" }, f.message),
        suggestionNode(f));
      var dl = evidenceNode(f);
      var meta = el("dl", null,
        el("dt", null, "Category"), el("dd", null, f.category),
        el("dt", null, "Where"), el("dd", null, f.line ? "line " + f.line + ", column " + f.column : "—"),
        el("dt", null, "Confidence"), el("dd", null, pct(f.confidence)));
      if (f.source_language) meta.append(el("dt", null, "Source lang."), el("dd", null, f.source_language));
      if (rule.summary) meta.append(el("dt", null, "Rule"), el("dd", null, rule.summary));
      item.append(meta);
      if (dl) item.append(el("div", null, el("strong", null, "Evidence"), dl));
      var links = el("p", null);
      if (f.hunk !== null && f.hunk !== undefined) {
        links.append(el("a", { href: "#" + docId(n) + "-h" + f.hunk, "class": "tohunk" },
          "Show in suggested revision ↓"));
      } else if (f.skipped) {
        links.append(el("span", { "class": "note" },
          "Not applied in the revision: overlaps a more serious finding."));
      }
      if (links.childNodes.length) item.append(links);
      return item;
    });
    detail.replaceChildren.apply(detail, items);
  }

  function renderFindingList(d, n, detail) {
    var ol = el("ol", { "class": "findings" });
    d.findings.forEach(function (f, i) {
      var btn = el("button", { type: "button", "class": "f",
        "aria-label": "Show " + describe(f) },
        el("span", { "class": "code" }, f.code), " ",
        el("span", { "class": "sevtag " + f.severity }, f.severity), " ", baselineTag(f),
        f.baselined ? " " : "",
        el("span", { "class": "muted" }, f.line ? f.line + ":" + f.column : ""), " ",
        el("span", { "class": "fmsg" }, f.message));
      btn.addEventListener("click", function () {
        showDetail(detail, d, n, [i], true);
        var target = document.getElementById(docId(n) + "-f" + i);
        if (target) { target.scrollIntoView({ block: "nearest" }); flash(target); }
      });
      var cls = (visible(f) ? "" : "hidden ") + (f.baselined ? "baselined" : "");
      // The finding's number, as a grid cell (the list keeps its order for screen readers).
      var num = el("span", { "class": "num", "aria-hidden": "true" }, (i + 1) + ".");
      ol.append(el("li", { "class": cls.trim() || null }, num, btn));
    });
    return ol;
  }

  function flash(node) {
    node.classList.add("flash");
    setTimeout(function () { node.classList.remove("flash"); }, 1500);
  }

  /* Side by side: original lines with deleted words in <del>, the revision with inserted
     words in <ins>. Each hunk is an anchor (#doc-N-hK) that findings link to, and each row
     links back to its findings' highlights. */
  function renderDiff(d, n) {
    var grid = el("div", { "class": "diff", role: "group", "aria-label": "Original and suggested revision" },
      el("div", { "class": "dh" }, "Line"), el("div", { "class": "dh" }, "Original"),
      el("div", { "class": "dh" }, "Suggested revision"));
    d.diff.rows.forEach(function (row) {
      var hunks = [];
      row.old.concat(row.new).forEach(function (p) {
        if (p[1] >= 0 && hunks.indexOf(p[1]) < 0) hunks.push(p[1]);
      });
      var ln = el("div", { "class": "ln" }, String(row.line));
      hunks.forEach(function (h) {
        d.diff.hunks[h].findings.forEach(function (i) {
          ln.append(el("a", { href: "#" + docId(n) + "-f" + i,
            "aria-label": "Back to " + d.findings[i].code + " in the text" }, "↑ " + d.findings[i].code));
        });
      });
      grid.append(ln, diffCell(row.old, "del", n, true), diffCell(row.new, "ins", n, false));
    });
    return grid;
  }

  function diffCell(parts, tag, n, anchors) {
    var cell = el("div", null);
    var current = null, currentHunk = -2;
    var any = false;
    parts.forEach(function (p) {
      var text = p[0], hunk = p[1], changed = p[2];
      any = any || text.length > 0;
      var target = cell;
      if (hunk >= 0) {
        if (hunk !== currentHunk) {
          current = el("span", { "class": "hunk", "data-hunk": hunk,
            id: anchors ? docId(n) + "-h" + hunk : null, tabindex: anchors ? "-1" : null });
          cell.append(current);
          currentHunk = hunk;
        }
        target = current;
      } else {
        currentHunk = -2;
      }
      if (changed) {
        // A changed run of spaces alone would be invisible: the "ws" class gives it width.
        target.append(el(tag, { "class": text.trim() ? null : "ws" }, el("span", { "class": "sr-only" },
          tag === "del" ? "[deleted: " : "[inserted: "), text, el("span", { "class": "sr-only" }, "]")));
      } else {
        target.append(showControls(text));
      }
    });
    if (!parts.some(function (p) { return p[0].trim().length; })) {
      cell.append(el("span", { "class": "empty" }, any ? " (whitespace only)" : "(line removed)"));
    }
    return cell;
  }

  /* ---------- navigation ---------- */

  // Internal links go through here so a target on another page switches page first, and
  // keyboard focus follows the jump.
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[href^='#']");
    if (!a) return;
    var hash = a.getAttribute("href");
    if (jump(hash)) ev.preventDefault();
  });

  function jump(hash) {
    var m = /^#doc-(\d+)/.exec(hash || "");
    if (!m) return false;
    var n = Number(m[1]);
    if (n >= DOCS.length) return false;
    if (pageOf(n) !== state.page) { state.page = pageOf(n); refresh(); }
    var target = document.getElementById(hash.slice(1));
    if (!target) return false;
    target.scrollIntoView({ block: "center" });
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
    flash(target);
    if (history.replaceState) history.replaceState(null, "", hash);
    return true;
  }

  function refresh() {
    renderIndex();
    renderDocuments();
  }

  renderSummary();
  renderControls();
  refresh();
  if (location.hash) jump(location.hash);
  document.documentElement.setAttribute("data-ready", "1");
})();
