// flexjudge view: list, item and report pages over one loaded source.
// Every text from the data is set with textContent (never innerHTML): results are user data.
"use strict";

const MODE = document.body.dataset.mode; // "live" (API) or "export" (static data files)
const PREFIX = document.body.dataset.prefix || "";
const PAGE_SIZE = 100;
const CHUNK = 500; // items per detail file in an export
const state = { meta: null, cols: null, rows: null, searchHits: null, searchFor: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function getJSON(apiPath, exportPath) {
  const url = MODE === "live" ? apiPath : PREFIX + exportPath;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

const mediaURL = (u) => (MODE === "live" ? u : u.replace(/^\//, ""));

async function load() {
  state.meta = await getJSON("/api/meta", "meta.json");
  // a big store answers with its first rows at once and loads the rest in the background
  const items = await getJSON(MODE === "live" && !state.meta.complete ? "/api/items?first=" + PAGE_SIZE : "/api/items", "items.json");
  state.cols = Object.fromEntries(items.columns.map((c, i) => [c, i]));
  state.rows = items.rows;
  state.partial = !items.complete;
  showSource();
  if (state.partial) loadAll();
}

async function loadAll() {
  const items = await getJSON("/api/items", "items.json");
  state.meta = await getJSON("/api/meta", "meta.json");
  state.rows = items.rows;
  state.partial = false;
  showSource();
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/";
  if (path === "/") route();
}

function showSource() {
  document.getElementById("source").textContent =
    `${state.meta.kind} · ${state.meta.count} items${state.partial ? " (loading…)" : ""} · ${state.meta.path}`;
  const nav = document.getElementById("nav");
  nav.replaceChildren(el("a", { href: "#/" }, "Items"));
  if (state.meta.has_report || state.meta.plots.length) {
    const name = { bench: "Benchmark", bon: "Best-of-N", pairs: "Pairs" }[state.meta.kind] || "Report";
    nav.append(el("a", { href: "#/report" }, name));
  }
}

function params() {
  const q = location.hash.split("?")[1] || "";
  return Object.fromEntries(new URLSearchParams(q));
}

function setParams(p) {
  const clean = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== "" && v != null));
  const route = location.hash.split("?")[0] || "#/";
  location.hash = route + (Object.keys(clean).length ? "?" + new URLSearchParams(clean) : "");
}

const verdictHead = (v) => String(v).split(" (")[0];

function statusClass(s) {
  if (s === "ok" || s === "kept") return "status-ok";
  if (s === "error" || s === "unreadable") return "status-error";
  return "status-other";
}

async function filtered(p) {
  const C = state.cols;
  let rows = state.rows;
  if (p.status) rows = rows.filter((r) => r[C.status] === p.status);
  if (p.protocol) rows = rows.filter((r) => r[C.protocol] === p.protocol);
  if (p.verdict) rows = rows.filter((r) => verdictHead(r[C.verdict]) === p.verdict);
  if (p.category) rows = rows.filter((r) => (r[C.category] || "").includes(p.category));
  if (p.human === "agree") rows = rows.filter((r) => r[C.human] === true);
  if (p.human === "disagree") rows = rows.filter((r) => r[C.human] === false);
  if (p.human === "unknown") rows = rows.filter((r) => r[C.human] === null);
  if (p.agreement_below) {
    const t = Number(p.agreement_below);
    rows = rows.filter((r) => r[C.agreement] !== null && r[C.agreement] < t);
  }
  if (p.swap === "disagree") rows = rows.filter((r) => r[C.swap_disagree] === true);
  if (p.q) {
    if (MODE === "live") {
      if (state.searchFor !== p.q) {
        const hits = await getJSON("/api/search?q=" + encodeURIComponent(p.q), "");
        state.searchHits = new Set(hits.idx);
        state.searchFor = p.q;
      }
      rows = rows.filter((r) => state.searchHits.has(r[C.idx]));
    } else {
      const needle = p.q.toLowerCase();
      rows = rows.filter((r) => (r[C.snippet] + " " + r[C.id]).toLowerCase().includes(needle));
    }
  }
  if (p.sort && p.sort in C) {
    const k = C[p.sort];
    const dir = p.desc ? -1 : 1;
    rows = [...rows].sort((a, b) => {
      const x = a[k], y = b[k];
      if (x === y) return a[C.idx] - b[C.idx];
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }
  return rows;
}

function select(name, label, options, current) {
  const s = el("select", { name, onchange: (e) => setParams({ ...params(), [name]: e.target.value, page: "" }) },
    el("option", { value: "" }, "any"),
    options.map(([v, text]) => el("option", { value: v, selected: v === current }, text)));
  return el("label", {}, label, s);
}

async function listPage() {
  const p = params();
  const C = state.cols;
  const facets = state.meta.facets;
  const verdicts = [...new Set(state.rows.map((r) => verdictHead(r[C.verdict])))].sort();
  const cats = [...new Set(state.rows.flatMap((r) => (r[C.category] ? r[C.category].split(", ") : [])))].sort();
  const search = el("input", { type: "search", name: "q", value: p.q || "", placeholder: "question or response text" });
  search.addEventListener("change", () => setParams({ ...params(), q: search.value, page: "" }));
  const agree = el("input", { type: "number", name: "agreement_below", min: 0, max: 1, step: 0.05, value: p.agreement_below || "" });
  agree.addEventListener("change", () => setParams({ ...params(), agreement_below: agree.value, page: "" }));
  const bar = el("div", { class: "filters" },
    el("label", {}, "search", search),
    select("status", "status", Object.entries(facets.status).map(([k, n]) => [k, `${k} (${n})`]), p.status),
    select("protocol", "protocol", Object.entries(facets.protocol).map(([k, n]) => [k, `${k || "—"} (${n})`]), p.protocol),
    select("verdict", "verdict", verdicts.map((v) => [v, v]), p.verdict),
    select("human", "vs human label", [["agree", "agrees"], ["disagree", "disagrees"], ["unknown", "no label"]], p.human),
    select("swap", "swapped orders", [["disagree", "disagree"]], p.swap),
    cats.length ? select("category", "category", cats.map((c) => [c, c]), p.category) : null,
    el("label", {}, "vote agreement below", agree));
  const rows = await filtered(p);
  const page = Math.max(0, Number(p.page || 0));
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const shown = rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const head = ["id", "status", "protocol", "verdict", "agreement", "human", "snippet"];
  const sortBy = (c) => setParams({ ...params(), sort: c, desc: p.sort === c && !p.desc ? "1" : "" });
  const table = el("table", { id: "items" },
    el("thead", {}, el("tr", {}, head.map((c) => el("th", { onclick: () => sortBy(c) }, c === "snippet" ? "question" : c)))),
    el("tbody", {}, shown.map((r) => el("tr", { class: "row", "data-idx": r[C.idx], onclick: () => { location.hash = `#/item/${r[C.idx]}`; } },
      el("td", {}, r[C.id]),
      el("td", { class: statusClass(r[C.status]) }, r[C.status]),
      el("td", {}, r[C.protocol]),
      el("td", {}, r[C.verdict], r[C.swap_disagree] ? el("span", { class: "muted" }, " ⇄ orders disagree") : null),
      el("td", {}, r[C.agreement] === null ? "—" : Number(r[C.agreement]).toFixed(2)),
      el("td", {}, r[C.human] === null ? "—" : r[C.human] ? "agrees" : "disagrees"),
      el("td", { class: "snippet" }, r[C.snippet])))));
  const go = (n) => setParams({ ...params(), page: String(n) });
  const pager = el("div", { class: "pager" },
    el("button", { disabled: page === 0, onclick: () => go(page - 1) }, "‹ prev"),
    el("span", { id: "count" }, state.partial ? `first ${rows.length} of ${state.meta.count} items (the rest are loading)` : `${rows.length} items · page ${page + 1} of ${pages}`),
    el("button", { disabled: page + 1 >= pages, onclick: () => go(page + 1) }, "next ›"));
  return [bar, pager, table];
}

function kvTable(obj) {
  return el("table", { class: "kv" }, el("tbody", {}, Object.entries(obj || {}).map(([k, v]) =>
    el("tr", {}, el("td", {}, k), el("td", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))))));
}

function mediaView(m) {
  if (m.error || !m.url) return el("figure", {}, el("figcaption", {}, `${m.field}: ${m.error}`));
  const url = mediaURL(m.url);
  const body = {
    image: () => el("img", { src: url, alt: m.name }),
    molecule: () => el("img", { src: url, alt: m.smiles, class: "molecule" }),
    video: () => el("video", { src: url, controls: true, preload: "metadata" }),
    audio: () => el("audio", { src: url, controls: true, preload: "metadata" }),
  }[m.kind]();
  return el("figure", { class: `medium ${m.kind}` }, body,
    el("figcaption", {}, `${m.field} · ${m.kind === "molecule" ? "SMILES " + m.smiles : m.name}`));
}

function sampleView(s, i) {
  const rounds = s.rounds.length > 1 ? el("ol", { class: "rounds" }, s.rounds.map((r, k) =>
    el("li", {}, `round ${k}: ${r.verdict} (${r.status})`))) : null;
  return el("div", { class: "sample" },
    el("div", { class: "head" }, `Sample ${i + 1} · shown ${s.order.join(", ")} · ${s.verdict} · ${s.status || "?"} · ${s.finish_reason || ""}`),
    s.reasoning ? el("div", { class: "reasoning" }, s.reasoning) : null, rounds,
    el("details", {}, el("summary", {}, "raw text"), el("pre", {}, s.text)));
}

async function itemPage(idx) {
  const d = MODE === "live" ? await getJSON(`/api/item/${idx}`, "")
    : (await getJSON("", `item/${Math.floor(idx / CHUNK)}.json`))[String(idx)];
  const parts = [el("p", {}, el("a", { href: "#/" }, "‹ all items"))];
  parts.push(el("div", { class: "card", id: "verdict" },
    el("h2", {}, d.verdict && d.verdict !== "—" ? `${d.id} — ${d.verdict}` : d.id),
    el("span", { class: statusClass(d.status) }, d.status), ` · ${d.protocol}`,
    d.human === null || d.human === undefined ? null : ` · ${d.human ? "agrees" : "disagrees"} with the human label`));
  if (d.question) parts.push(el("div", { class: "card" }, el("h2", {}, "Question"), el("div", { class: "reasoning" }, d.question)));
  if (d.media && d.media.length) parts.push(el("div", { class: "card" }, el("h2", {}, "Media"), el("div", { class: "media" }, d.media.map(mediaView))));
  if (d.responses && d.responses.length) {
    parts.push(el("div", { class: "card" }, el("h2", {}, "Candidates"),
      d.orders && d.orders.length ? el("p", { class: "muted" }, `order(s) the judge saw: ${d.orders.join(" | ")}`) : null,
      el("div", { class: "responses" }, d.responses.map((r) => el("div", { class: "response" }, el("span", { class: "tag" }, r.label), r.text)))));
  }
  if (d.candidates) {
    parts.push(el("div", { class: "card" }, el("h2", {}, "Candidates by score"), el("table", {}, el("tbody", {},
      d.candidates.map((c) => el("tr", {}, el("td", {}, c.selected ? "★ " + c.label : c.label),
        el("td", {}, c.score === null ? "—" : String(c.score)), el("td", {}, c.label_value === null ? "" : `label ${c.label_value}`),
        el("td", { class: "reasoning" }, c.text || "")))))));
  }
  if (d.decision) parts.push(el("div", { class: "card" }, el("h2", {}, "Pair decision"), kvTable(d.decision), d.pair ? kvTable(d.pair) : null));
  if (d.prompt) {
    parts.push(el("details", { class: "card" }, el("summary", {}, `Rendered prompt (${d.prompt.family}${d.prompt.matches ? ", matches the recorded SHA-256" : ", does not match the recorded SHA-256"})`),
      el("pre", {}, d.prompt.text)));
  }
  if (d.samples && d.samples.length) parts.push(el("div", { class: "card", id: "samples" }, el("h2", {}, `Votes and rounds (${d.samples.length})`), d.samples.map(sampleView)));
  if (d.aggregate) parts.push(el("div", { class: "card" }, el("h2", {}, "Aggregate"), kvTable(d.aggregate)));
  parts.push(el("details", { class: "card" }, el("summary", {}, "raw record"), el("pre", {}, JSON.stringify(d.raw, null, 2))));
  return parts;
}

function wilson(p, n) {
  if (!n) return null;
  const z = 1.96, d = 1 + z * z / n, c = p + z * z / (2 * n), h = z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  return [(c - h) / d, (c + h) / d];
}

async function reportPage() {
  const r = await getJSON("/api/report", "report.json");
  const rep = r.report || {};
  const parts = [];
  const scalars = Object.fromEntries(Object.entries(rep).filter(([, v]) => v === null || typeof v !== "object"));
  parts.push(el("div", { class: "card" }, el("h2", {}, "Summary"), kvTable(scalars)));
  for (const key of ["metrics", "ci95", "counts"]) if (rep[key]) parts.push(el("div", { class: "card" }, el("h2", {}, key), kvTable(rep[key])));
  if (rep.by_category) {
    for (const [group, cats] of Object.entries(rep.by_category)) {
      const field = group.split(" (")[0];
      parts.push(el("div", { class: "card category" }, el("h2", {}, `By ${group}`), el("table", {},
        el("thead", {}, el("tr", {}, ["category", "n", "metric", "95% CI (Wilson)", ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, Object.entries(cats).map(([cat, m]) => {
          const acc = m.accuracy;
          const ci = typeof acc === "number" ? wilson(acc, m.n) : null;
          const link = `#/?category=${encodeURIComponent(`${field}=${cat}`)}&human=disagree`;
          return el("tr", {}, el("td", {}, cat), el("td", {}, m.n),
            el("td", {}, JSON.stringify(Object.fromEntries(Object.entries(m).filter(([k]) => k !== "n")))),
            el("td", {}, ci ? `[${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}]` : "—"),
            el("td", {}, el("a", { href: link }, "failing items")));
        })))));
    }
  }
  const rest = Object.entries(rep).filter(([k, v]) => v && typeof v === "object" && !["metrics", "ci95", "counts", "by_category", "plots"].includes(k));
  for (const [k, v] of rest) parts.push(el("details", { class: "card" }, el("summary", {}, k), el("pre", {}, JSON.stringify(v, null, 2))));
  const plots = Object.entries(r.plots || {});
  if (plots.length) parts.push(el("div", { class: "card plots" }, el("h2", {}, "Plots"), plots.map(([n, u]) => el("img", { src: mediaURL(u), alt: n, title: n }))));
  return parts;
}

async function route() {
  const main = document.getElementById("main");
  try {
    if (!state.rows) await load();
    const path = location.hash.replace(/^#/, "").split("?")[0] || "/";
    const m = path.match(/^\/item\/(\d+)$/);
    const parts = m ? await itemPage(Number(m[1])) : path === "/report" ? await reportPage() : await listPage();
    main.replaceChildren(...parts);
  } catch (err) {
    main.replaceChildren(el("p", { class: "status-error" }, `Could not load: ${err.message}`));
  }
}

window.addEventListener("hashchange", route);
route();
