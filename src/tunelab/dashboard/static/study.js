// The study page: summary, every plot, and the trials table. Polls the study's summary
// every 2 s; when its version changes (a trial started, reported or ended) the table is
// fetched again at once and the plots are redrawn in the background, all in place without
// reloading the page. The table never waits for the plots: drawing every plot (the first
// time with plotly.js to load, and now and then the importances) can take seconds.
"use strict";

const IMPORTANCE_EVERY_MS = 30000;
const PLOTS = ["history", "intermediate", "parallel", "slices", "rungs", "lineage"];

const S = {
  name: TL.query("name"),
  tableVersion: null,
  plotVersion: null,
  plotting: false,
  summary: null,
  data: {},
  shownStates: new Set(TL.STATES),
  configs: new Map(),
  states: new Map(),
  values: new Map(),
  seen: null,
  offset: 0,
  limit: 50,
  order: "-number",
  historyX: "number",
  importancesAt: 0,
  early: null,
};

const view = {
  shown: (state) => S.shownStates.has(state),
  stateOf: (number) => S.states.get(number) || "completed",
  open: (number) => {
    window.location.href = TL.url("/trial", { study: S.name, number });
  },
  hover(number) {
    const state = S.states.get(number) || "";
    const lines = [`<b>trial #${number}</b> ${state}`];
    const value = S.values.get(number);
    if (value !== undefined && value !== null) lines.push(`${S.summary.metric} = ${TL.num(value)}`);
    const params = S.configs.get(number);
    if (params) {
      const entries = Object.entries(params).filter(([, v]) => v !== null);
      for (const [k, v] of entries.slice(0, 14)) lines.push(`${k} = ${TL.num(v)}`);
      if (entries.length > 14) lines.push(`... ${entries.length - 14} more`);
    }
    return lines.join("<br>");
  },
};

function fact(label, value) {
  return TL.el("div", {}, TL.el("span", { text: label }), value);
}

function renderSummary(s) {
  document.title = `${s.name} - tunelab dashboard`;
  document.getElementById("title").textContent = s.name;
  document.getElementById("value-head").textContent = s.metric;
  const counts = TL.STATES.filter((st) => s.counts[st]).map((st) => `${s.counts[st]} ${st}`).join(", ");
  const best = s.best_trial === null ? "-" : TL.trialLink(s.name, s.best_trial, `${TL.num(s.best_value)} (trial #${s.best_trial})`);
  document.getElementById("facts").replaceChildren(
    fact("status", TL.badge(s.status)),
    fact("metric", `${s.metric} (${s.mode})`),
    fact("searcher", String(s.searcher)),
    fact("scheduler", String(s.scheduler)),
    fact("trials", TL.el("span", { id: "trial-count", text: `${s.trials}` })),
    fact("by state", counts || "-"),
    fact("best", best),
    fact("last activity", TL.ago(s.last_activity)),
  );
  document.getElementById("live").textContent = `updated ${new Date().toLocaleTimeString()}`;
  if (window.tunelabShownAt.summary === undefined) window.tunelabShownAt.summary = Math.round(performance.now());
}

function buildFilters() {
  const box = document.getElementById("filters");
  for (const state of TL.STATES) {
    const input = TL.el("input", { type: "checkbox", checked: true, value: state, "data-state": state });
    input.addEventListener("change", () => {
      if (input.checked) S.shownStates.add(state);
      else S.shownStates.delete(state);
      S.offset = 0;
      redraw();
      loadTable().catch((err) => TL.setProblem(err.message));
    });
    box.append(TL.el("label", {}, input, " ", TL.badge(state)));
  }
}

function learn() {
  const h = S.data.history;
  if (h) {
    for (const p of h.points) {
      S.states.set(p.number, p.state);
      S.values.set(p.number, p.value);
    }
  }
  const par = S.data.parallel;
  if (par) for (const r of par.rows) S.configs.set(r.number, r.params);
}

function note(id, payload, what) {
  const el = document.getElementById(id);
  if (!el) return;
  el.textContent =
    payload && payload.shown < payload.total
      ? `${payload.shown} of ${payload.total} trials drawn (every unfinished trial, the best ones, and an even sample of the rest).`
      : what || "";
}

const DRAW = {
  history: (d) => Plots.history(document.getElementById("plot-history"), d.history, view, S.historyX),
  intermediate: (d) => {
    note("note-intermediate", d.intermediate, d.intermediate.curves.length ? "" : "No trial reported the study metric yet.");
    Plots.intermediate(document.getElementById("plot-intermediate"), d.intermediate, view);
  },
  parallel: (d) => {
    note("note-parallel", d.parallel);
    Plots.parallel(document.getElementById("plot-parallel"), d.parallel, view);
    fillContourChoices(d.parallel.columns.map((c) => c.name));
  },
  slices: (d) => {
    note("note-slices", d.slices);
    Plots.slices(document.getElementById("plot-slices"), d.slices, view);
  },
  contour: (d) => {
    note("note-contour", d.contour);
    Plots.contour(document.getElementById("plot-contour"), d.contour, view);
  },
  importances: (d) => {
    document.getElementById("note-importances").textContent = d.importances.reason || "";
    if (Object.keys(d.importances.importances).length) {
      Plots.importances(document.getElementById("plot-importances"), d.importances);
    }
  },
  rungs: (d) => {
    const shown = d.rungs.rows.length > 0;
    document.getElementById("section-rungs").hidden = !shown;
    if (shown) Plots.rungs(document.getElementById("plot-rungs"), d.rungs, view);
  },
  lineage: (d) => {
    const shown = d.lineage.edges.length > 0;
    document.getElementById("section-lineage").hidden = !shown;
    if (shown) Plots.lineage(document.getElementById("plot-lineage"), d.lineage, view);
  },
};

// Draw one plot from its cached payload; how long it took is kept in
// window.tunelabDrawMs, and when it was done (ms since navigation) in
// window.tunelabDrawnAt; window.tunelabShownAt says when the summary and the trials
// table first showed (all read by benchmarks/dashboard.py).
function draw(kind) {
  if (!S.data[kind]) return;
  const start = performance.now();
  try {
    DRAW[kind](S.data);
  } catch (err) {
    const el = document.getElementById(`plot-${kind}`);
    if (el) el.textContent = `cannot draw: ${err.message}`;
  }
  window.tunelabDrawMs[kind] = Math.round(performance.now() - start);
  window.tunelabDrawnAt[kind] = Math.round(performance.now());
}
window.tunelabDrawMs = {};
window.tunelabDrawnAt = {};
window.tunelabShownAt = {};

function redraw() {
  for (const kind of Object.keys(DRAW)) draw(kind);
}

function fillContourChoices(names) {
  const xs = document.getElementById("contour-x");
  const ys = document.getElementById("contour-y");
  const key = names.join("\u0000");
  if (xs.dataset.key === key) return;
  xs.dataset.key = key;
  const keep = [xs.value, ys.value];
  for (const [select, fallback] of [
    [xs, names[0]],
    [ys, names[1]],
  ]) {
    select.replaceChildren(...names.map((n) => TL.el("option", { value: n, text: n })));
    select.value = names.includes(select === xs ? keep[0] : keep[1]) ? (select === xs ? keep[0] : keep[1]) : fallback || "";
  }
}

async function loadContour() {
  const x = document.getElementById("contour-x").value;
  const y = document.getElementById("contour-y").value;
  const noteEl = document.getElementById("note-contour");
  if (!x || !y || x === y) {
    noteEl.textContent = "Pick two different parameters.";
    S.data.contour = null;
    return;
  }
  noteEl.textContent = "";
  S.data.contour = await TL.json(`/api/study/plot/contour`, { name: S.name, x, y });
}

// The history and the configurations are fetched first (the server computes one
// request at a time per core, and these draw first), while plotly.js still loads; the
// rest follows. Plots are drawn in page order, each in its own task, so the browser
// shows the first ones while it draws the next.
const DRAW_ORDER = ["history", "intermediate", "slices", "rungs", "lineage", "parallel"];

function plotData(kind) {
  return TL.json(`/api/study/plot/${kind}`, { name: S.name });
}

async function loadPlots() {
  const plot = plotData;
  const fetched = S.early || { history: plot("history"), parallel: plot("parallel") };
  S.early = null;
  const first = Promise.all([fetched.history, fetched.parallel]);
  for (const kind of DRAW_ORDER) {
    if (!fetched[kind]) fetched[kind] = first.then(() => plot(kind));
  }
  const contour = (async () => {
    S.data.parallel = await fetched.parallel;
    fillContourChoices(S.data.parallel.columns.map((c) => c.name));
    await loadContour();
  })();
  S.data.history = await fetched.history;
  S.data.parallel = await fetched.parallel;
  learn(); // hover texts read states and values (history) and configurations (parallel)
  await TL.plotly();
  for (const kind of DRAW_ORDER) {
    S.data[kind] = await fetched[kind];
    draw(kind);
    await TL.nextFrame();
  }
  await contour;
  draw("contour");
  if (Date.now() - S.importancesAt > IMPORTANCE_EVERY_MS) {
    S.importancesAt = Date.now();
    S.data.importances = await TL.json("/api/study/plot/importances", { name: S.name });
    draw("importances");
  }
}

async function loadTable() {
  const all = S.shownStates.size === TL.STATES.length;
  const page = await TL.json("/api/study/trials", {
    name: S.name,
    offset: S.offset,
    limit: S.limit,
    order: S.order,
    state: all ? "" : Array.from(S.shownStates).join(",") || "none",
  });
  const first = S.seen === null;
  S.seen = S.seen || new Set();
  const rows = page.rows.map((t) => {
    const tr = TL.row(
      TL.trialLink(S.name, t.number),
      TL.badge(t.state),
      TL.num(t.value),
      String(t.steps),
      TL.seconds(t.duration),
      TL.ago(t.last_activity),
      TL.params(t.params),
    );
    tr.lastChild.className = "params";
    tr.dataset.number = String(t.number);
    tr.dataset.state = t.state;
    if (!first && !S.seen.has(t.number)) tr.classList.add("new");
    S.seen.add(t.number);
    return tr;
  });
  TL.fill(document.querySelector("#trials tbody"), rows);
  const end = Math.min(page.offset + page.limit, page.total);
  document.getElementById("page-text").textContent = page.total
    ? `trials ${page.offset + 1}-${end} of ${page.total}`
    : "no trial";
  if (window.tunelabShownAt.table === undefined) window.tunelabShownAt.table = Math.round(performance.now());
  document.getElementById("prev").disabled = page.offset === 0;
  document.getElementById("next").disabled = end >= page.total;
}

// One plot redraw at a time; when it ends, the next poll starts one for a newer version.
function redrawPlots(version) {
  S.plotting = true;
  loadPlots()
    .then(() => {
      S.plotVersion = version;
    })
    .catch((err) => TL.setProblem(err.message || String(err)))
    .finally(() => {
      S.plotting = false;
    });
}

async function refresh() {
  const summary = await TL.json("/api/study", { name: S.name });
  S.summary = summary;
  renderSummary(summary);
  if (!S.plotting && summary.version !== S.plotVersion) redrawPlots(summary.version);
  if (summary.version === S.tableVersion) return;
  await loadTable();
  S.tableVersion = summary.version;
}

function wire() {
  document.getElementById("where").textContent = S.name || "";
  buildFilters();
  for (const input of document.querySelectorAll('input[name="history-x"]')) {
    input.addEventListener("change", () => {
      S.historyX = input.value;
      draw("history");
    });
  }
  for (const id of ["contour-x", "contour-y"]) {
    document.getElementById(id).addEventListener("change", () => {
      loadContour()
        .then(() => draw("contour"))
        .catch((err) => TL.setProblem(err.message));
    });
  }
  document.getElementById("order").addEventListener("change", (event) => {
    S.order = event.target.value;
    S.offset = 0;
    loadTable().catch((err) => TL.setProblem(err.message));
  });
  document.getElementById("prev").addEventListener("click", () => {
    S.offset = Math.max(0, S.offset - S.limit);
    loadTable().catch((err) => TL.setProblem(err.message));
  });
  document.getElementById("next").addEventListener("click", () => {
    S.offset += S.limit;
    loadTable().catch((err) => TL.setProblem(err.message));
  });
}

if (!S.name) {
  TL.setProblem("No study named: open /study?name=NAME");
} else {
  S.early = { history: plotData("history"), parallel: plotData("parallel") };
  wire();
  TL.poll(refresh);
}
