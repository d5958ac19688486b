// kotae's page: ask, show the answer and its citations, and show any citation inside its
// document with the cited span, the answer and the skipped captions marked.
//
// Offsets from the API are Python str indices (code points); JavaScript strings count
// UTF-16 units, so document text is handled as an array of code points: 𠮷 is one
// character to Python and two to JavaScript, and slicing by UTF-16 would drift after it.
"use strict";

const state = { answer: null, texts: new Map(), sizes: new Map(), opened: 0 };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function docPath(name) {
  return "/api/documents/" + name.split("/").map(encodeURIComponent).join("/") + "/text";
}

function where(c) {
  const parts = [c.doc];
  if (c.section) parts.push(c.section);
  parts.push(c.lines[0] === c.lines[1] ? `line ${c.lines[0]}` : `lines ${c.lines[0]}–${c.lines[1]}`);
  if (c.pages) parts.push(c.pages[0] === c.pages[1] ? `page ${c.pages[0]}` : `pages ${c.pages[0]}–${c.pages[1]}`);
  return parts.join(" · ");
}

async function getJSON(url, options) {
  const response = await fetch(url, options);
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

// The text of a document around [start, end), as code points: the whole document when the
// server sends it at once (a report), else a window of that size centred on the span.
// Returns {offset, cps, characters}; cached per window.
async function textAround(name, start, end) {
  if (!state.sizes.has(name)) state.sizes.set(name, await getJSON(docPath(name) + "?start=0&end=0"));
  const { characters, max_span: cap } = state.sizes.get(name);
  let [a, b] = [0, characters];
  if (characters > cap) {
    a = Math.max(0, start - Math.max(0, Math.floor((cap - (end - start)) / 2)));
    b = Math.min(characters, a + cap);
  }
  const key = `${name}\u0000${a}\u0000${b}`;
  if (!state.texts.has(key)) {
    const body = await getJSON(`${docPath(name)}?start=${a}&end=${b}`);
    state.texts.set(key, { offset: a, cps: Array.from(body.text), characters });
  }
  return state.texts.get(key);
}

// Position in a cleaned text (`answer.text`) of raw offset `to`, counted from raw `from`:
// cleaning only removes or collapses whitespace and skips gaps, so the visible characters
// before `to` are the same in both. (2024 年 11 月 -> 2024年11月: 7 visible characters each.)
function cleanedIndex(part, from, to, gaps, text) {
  let visible = 0;
  for (let i = from; i < to; i++) {
    if (gaps.some(([a, b]) => a <= i && i < b)) continue;
    if (!/\s/u.test(part.cps[i - part.offset])) visible++;
  }
  const chars = Array.from(text);
  let seen = 0, units = 0;
  for (const ch of chars) {
    if (!/\s/u.test(ch)) {
      if (seen === visible) return units;
      seen++;
    }
    units += ch.length;
  }
  return text.length;
}

// The short answer to show: none under the confidence threshold ("shown": false), as in the terminal.
function shownShort(a) {
  const s = a.answer && a.answer.short;
  return s && s.shown !== false ? s : null;
}

async function answerWithShort(a) {
  const box = el("p", { class: "answer-text", lang: "ja" });
  const s = shownShort(a);
  let at = -1, len = 0;
  if (s) {
    try {
      const part = await textAround(a.answer.doc, a.answer.start, a.answer.end);
      at = cleanedIndex(part, a.answer.start, s.start, a.answer.gaps || [], a.answer.text);
      len = s.text.length;
      if (a.answer.text.slice(at, at + len).replace(/\s/gu, "") !== s.text.replace(/\s/gu, "")) at = -1;
    } catch (e) { at = -1; }
    if (at < 0) { at = a.answer.text.indexOf(s.text); len = s.text.length; }
  }
  if (at < 0) box.append(a.answer.text);
  else box.append(a.answer.text.slice(0, at), el("mark", { class: "short" }, a.answer.text.slice(at, at + len)),
                  a.answer.text.slice(at + len));
  return box;
}

function citationItem(c, i, a) {
  const text = el("span", { class: "passage", lang: "ja" });
  const k = a.answer && a.answer.doc === c.doc ? c.text.indexOf(a.answer.text) : -1;
  if (k < 0) text.append(c.text);
  else text.append(c.text.slice(0, k), el("mark", { class: "answer" }, a.answer.text),
                   c.text.slice(k + a.answer.text.length));
  const gaps = c.gaps && c.gaps.length ? el("span", { class: "skips" },
    `skips ${c.gaps.length} caption${c.gaps.length > 1 ? "s" : ""}`) : "";
  const button = el("button", { type: "button", class: "cite", "data-i": i, "aria-controls": "document" },
    el("span", { class: "where" }, `[${i + 1}] `, el("span", { lang: "ja" }, where(c)), " ", gaps), text);
  button.addEventListener("click", () => openCitation(i, true));
  return el("li", {}, button);
}

// English questions: what a dictionary says the answer's words can mean, labelled as
// such; it is never offered as a translation of the sentence.
function glosses(notes) {
  // A word the sentence repeats (安保理 ... 安保理) is glossed once.
  const seen = new Set();
  const unique = notes.filter((g) => {
    const key = [g.text, g.romaji, g.gloss].join("\u0000");
    return !seen.has(key) && seen.add(key);
  });
  const items = unique.map((g) => el("li", {},
    el("span", { lang: "ja", class: "gloss-word" }, g.text), " ",
    g.romaji ? el("span", { class: "romaji" }, g.romaji) : "",
    g.gloss ? ` — ${g.gloss}` : "", el("span", { class: "source" }, ` (${g.source})`)));
  return el("div", { class: "glosses" }, el("p", {}, "Dictionary glosses (not a translation):"), el("ul", {}, ...items));
}

async function render(a) {
  const out = $("result");
  out.replaceChildren();
  out.append(el("p", { class: "question" }, "Q: ", el("span", { lang: a.language === "en" ? "en" : "ja" }, a.question)));
  if (a.abstained || !a.answer) {
    out.append(el("p", { class: "abstain", role: "status" },
      "No answer: nothing in the index answers this closely enough.",
      a.why ? el("span", { class: "why" }, " " + a.why) : ""));
    out.append(el("h2", {}, "Nearest passages"));
  } else if (a.answer.confident === false) {
    // Low confidence: the passages lead, and the sentence comes after them as a guess.
    out.append(el("p", { class: "abstain", role: "status" },
      `Low confidence (${a.answer.confidence.toFixed(2)}): kotae is not sure which sentence answers this. ` +
      "The passages most likely to, best first:"));
    out.append(el("ol", { class: "citations" }, ...a.citations.map((c, i) => citationItem(c, i, a))));
    const guess = el("div", { class: "answer-box" });
    guess.append(el("h2", {}, "Best guess (low confidence)"), await answerWithShort(a),
                 el("p", { class: "where" }, el("span", { lang: "ja" }, where(a.answer)), ` · [${a.answer.start}:${a.answer.end}]`));
    if (a.answer.gloss && a.answer.gloss.length) guess.append(glosses(a.answer.gloss));
    out.append(guess);
    return;
  } else {
    const box = el("div", { class: "answer-box" });
    box.append(el("h2", {}, "Answer"));
    const s = shownShort(a);
    if (s) box.append(el("p", { class: "short-line" }, "→ ", el("mark", { class: "short", lang: "ja" }, s.text)));
    box.append(await answerWithShort(a));
    box.append(el("p", { class: "where" }, el("span", { lang: "ja" }, where(a.answer)), ` · [${a.answer.start}:${a.answer.end}]`));
    if (a.answer.gloss && a.answer.gloss.length) box.append(glosses(a.answer.gloss));
    out.append(box, el("h2", {}, "Citations"));
  }
  out.append(el("ol", { class: "citations" }, ...a.citations.map((c, i) => citationItem(c, i, a))));
}

// Spans to mark in a document: [start, end, class], all in code points.
function marksFor(c, a) {
  const marks = [[c.start, c.end, "cited"]];
  if (a.answer && a.answer.doc === c.doc) {
    marks.push([a.answer.start, a.answer.end, "answer"]);
    const s = shownShort(a);
    if (s) marks.push([s.start, s.end, "short"]);
  }
  for (const [s, e] of c.gaps || []) marks.push([s, e, "gap"]);
  return marks;
}

// The window's text with the marks as spans; a window that is not the whole document says
// how much lies outside it.
function markedText(part, allMarks) {
  const { offset, cps, characters } = part;
  const marks = allMarks.map(([s, e, k]) => [s - offset, e - offset, k]);
  const cuts = new Set([0, cps.length]);
  for (const [s, e] of marks) { cuts.add(s); cuts.add(e); }
  const points = [...cuts].filter((x) => x >= 0 && x <= cps.length).sort((x, y) => x - y);
  const frag = document.createDocumentFragment();
  if (offset > 0) frag.append(el("span", { class: "outside", lang: "en" }, `[${offset.toLocaleString()} characters before]\n`));
  for (let j = 0; j + 1 < points.length; j++) {
    const [s, e] = [points[j], points[j + 1]];
    const text = cps.slice(s, e).join("");
    const on = marks.filter(([ms, me]) => ms <= s && e <= me);
    if (!on.length) { frag.append(text); continue; }
    const classes = on.map((m) => m[2]);
    const firstOfGap = on.some(([ms, , k]) => k === "gap" && ms === s);
    frag.append(el("span", { class: classes.join(" ") + (firstOfGap ? " gap-start" : ""),
                             title: classes.includes("gap") ? "skipped: a caption, not part of the cited text" : null }, text));
  }
  const after = characters - offset - cps.length;
  if (after > 0) frag.append(el("span", { class: "outside", lang: "en" }, `\n[${after.toLocaleString()} characters after]`));
  return frag;
}

// Scroll the document pane alone (not the page, whose question box stays in view) to the
// answer sentence when this citation holds it, else to the start of the cited span.
function scrollToSpan(pane) {
  const answer = pane.querySelector(".cited.answer");
  const target = answer || pane.querySelector(".cited");
  if (!target) return;
  const box = pane.getBoundingClientRect();
  const offset = target.getBoundingClientRect().top - box.top + pane.scrollTop;
  // Before the page is scrolled the pane may reach below the window: centre in what shows.
  const visible = Math.max(Math.min(box.bottom, window.innerHeight) - box.top, 0);
  const room = answer ? visible / 2 - target.getBoundingClientRect().height : visible / 8;
  pane.scrollTop = Math.max(0, offset - Math.max(room, 0));
}

async function openCitation(i, focus) {
  const a = state.answer;
  const c = a && a.citations[i];
  if (!c) return;
  state.opened = i;
  document.querySelectorAll(".cite").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.i === String(i))));
  const section = $("document");
  section.hidden = false;
  $("doc-title").textContent = "";
  $("doc-title").append(el("span", { lang: "ja" }, where(c)), ` · [${c.start}:${c.end}]`);
  const body = $("doc-text");
  try {
    body.replaceChildren(markedText(await textAround(c.doc, c.start, c.end), marksFor(c, a)));
  } catch (e) {
    body.replaceChildren(el("p", { class: "error" }, `Could not load ${c.doc}: ${e.message}`));
    return;
  }
  const url = new URL(location.href);
  url.searchParams.set("c", String(i + 1));
  history.replaceState(null, "", url);
  scrollToSpan(body);
  // On a phone the document is below the citations: a click brings it into view.
  if (focus && matchMedia("(max-width: 820px)").matches) section.scrollIntoView({ block: "start" });
  if (focus) $("doc-title").focus({ preventScroll: true });
}

async function ask(question, citation) {
  const out = $("result");
  out.setAttribute("aria-busy", "true");
  out.replaceChildren(el("p", { class: "busy" }, "Asking…"));
  $("document").hidden = true;
  try {
    state.answer = await getJSON("/api/ask", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ question, k: 5 }),
    });
    await render(state.answer);
    const open = citation !== null ? citation : (state.answer.abstained ? null : 0);
    if (open !== null) await openCitation(Math.min(open, state.answer.citations.length - 1), false);
  } catch (e) {
    out.replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
  } finally {
    out.setAttribute("aria-busy", "false");
  }
}

function fromURL() {
  const params = new URLSearchParams(location.search);
  const q = (params.get("q") || "").trim();
  const c = parseInt(params.get("c") || "", 10);
  $("q").value = q;
  if (q) ask(q, Number.isInteger(c) && c >= 1 ? c - 1 : null);
  else { $("result").replaceChildren(); $("document").hidden = true; }
}

function start() {
  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = $("q").value.trim();
    if (!q) return;
    history.pushState(null, "", "/?q=" + encodeURIComponent(q));  // the URL carries the question
    ask(q, null);
  });
  window.addEventListener("popstate", fromURL);
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (event.key === "/" && !typing) { event.preventDefault(); $("q").focus(); }
    if (event.key === "Escape" && !$("document").hidden) {
      const back = document.querySelector(`.cite[data-i="${state.opened}"]`);
      if (back) back.focus();
    }
  });
  fromURL();
}

document.addEventListener("DOMContentLoaded", start);
