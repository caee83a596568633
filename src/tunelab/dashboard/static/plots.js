// The study page's plots, drawn with plotly.js from the JSON of /api/study/plot/KIND.
// Each draw function takes the payload and a view {shown(state), hover(number), open(n)}
// and redraws with Plotly.react; `uirevision` keeps the user's zoom across refreshes.
"use strict";

const PLOT_CONFIG = { responsive: true, displaylogo: false };
const OUTCOME_COLORS = {
  promoted: "#1e88e5",
  stopped: "#ef6c00",
  completed: "#2e7d32",
  paused: "#8e24aa",
  running: "#90caf9",
  failed: "#c62828",
};

// WebGL only for many points: a page gets about 16 WebGL contexts, and SVG is crisper.
const GL_FROM = 2000;
function scatterType(points) {
  return points > GL_FROM ? "scattergl" : "scatter";
}

function baseLayout(key, extra) {
  return Object.assign(
    {
      uirevision: key,
      margin: { l: 60, r: 20, t: 10, b: 45 },
      hovermode: "closest",
      legend: { orientation: "h", y: -0.18 },
    },
    extra || {},
  );
}

function clickOpens(div, view) {
  if (div.dataset.clicks) return;
  div.dataset.clicks = "1";
  div.on("plotly_click", (event) => {
    const point = event.points && event.points[0];
    if (point && point.customdata !== undefined && point.customdata !== null) {
      view.open(Array.isArray(point.customdata) ? point.customdata[0] : point.customdata);
    }
  });
}

const Plots = {
  history(div, data, view, xmode) {
    const byTime = xmode === "time";
    const traces = [];
    const type = scatterType(data.points.length);
    for (const state of TL.STATES) {
      const pts = data.points.filter((p) => p.state === state && view.shown(state) && p.value !== null);
      if (!pts.length) continue;
      traces.push({
        type,
        mode: "markers",
        name: state,
        x: pts.map((p) => (byTime ? p.elapsed : p.number)),
        y: pts.map((p) => p.value),
        customdata: pts.map((p) => p.number),
        text: pts.map((p) => view.hover(p.number)),
        hoverinfo: "text",
        marker: { color: TL.COLORS[state], size: 6, opacity: 0.75 },
      });
    }
    const best = byTime
      ? { x: data.best_by_time.map((p) => p[0]), y: data.best_by_time.map((p) => p[1]) }
      : {
          x: data.points.filter((p) => p.best_so_far !== null).map((p) => p.number),
          y: data.points.filter((p) => p.best_so_far !== null).map((p) => p.best_so_far),
        };
    traces.push({
      type: "scatter",
      mode: "lines",
      name: "best so far",
      line: { shape: "hv", color: "#d81b60", width: 2 },
      hoverinfo: "skip",
      ...best,
    });
    Plotly.react(
      div,
      traces,
      baseLayout(`history-${xmode}`, {
        xaxis: { title: { text: byTime ? "seconds since the first trial started" : "trial" } },
        yaxis: { title: { text: data.metric } },
      }),
      PLOT_CONFIG,
    );
    clickOpens(div, view);
  },

  intermediate(div, data, view) {
    const traces = [];
    const ends = { pruned: [], paused: [] };
    const type = scatterType(data.curves.reduce((n, c) => n + c.steps.length, 0));
    for (const state of TL.STATES) {
      const curves = data.curves.filter((c) => c.state === state && view.shown(state));
      if (!curves.length) continue;
      const x = [];
      const y = [];
      const ids = [];
      const text = [];
      for (const c of curves) {
        const label = view.hover(c.number);
        for (let i = 0; i < c.steps.length; i++) {
          x.push(c.steps[i]);
          y.push(c.values[i]);
          ids.push(c.number);
          text.push(`${label}<br>step ${c.steps[i]}: ${TL.num(c.values[i])}`);
        }
        x.push(null);
        y.push(null);
        ids.push(null);
        text.push("");
        if (ends[state]) ends[state].push(c);
      }
      traces.push({
        type,
        mode: "lines",
        name: state,
        x,
        y,
        customdata: ids,
        text,
        hoverinfo: "text",
        line: { color: TL.COLORS[state], width: 1 },
        opacity: 0.7,
      });
    }
    for (const [state, curves] of Object.entries(ends)) {
      if (!curves.length) continue;
      traces.push({
        type,
        mode: "markers",
        name: `${state} here`,
        x: curves.map((c) => c.steps[c.steps.length - 1]),
        y: curves.map((c) => c.values[c.values.length - 1]),
        customdata: curves.map((c) => c.number),
        text: curves.map((c) => `${view.hover(c.number)}<br>${state} at step ${c.steps[c.steps.length - 1]}`),
        hoverinfo: "text",
        marker: { symbol: state === "pruned" ? "x" : "diamond-open", size: 8, color: TL.COLORS[state] },
      });
    }
    Plotly.react(
      div,
      traces,
      baseLayout("intermediate", {
        xaxis: { title: { text: "step" } },
        yaxis: { title: { text: data.metric } },
      }),
      PLOT_CONFIG,
    );
    clickOpens(div, view);
  },

  // One axis of parallel coordinates: numbers, log10 of them, or category indices;
  // an inactive (conditional) parameter sits on its own tick below the range.
  axis(column, values) {
    const inactiveLabel = "inactive";
    const anyInactive = values.some((v) => v === null || v === undefined);
    if (column.kind === "categorical" || column.kind === "bool") {
      const choices = (column.choices || []).map((c) => String(c));
      for (const v of values) if (v !== null && !choices.includes(String(v))) choices.push(String(v));
      const tickvals = choices.map((_, i) => i);
      const ticktext = choices.slice();
      if (anyInactive) {
        tickvals.unshift(-1);
        ticktext.unshift(inactiveLabel);
      }
      return {
        label: column.name,
        values: values.map((v) => (v === null ? -1 : choices.indexOf(String(v)))),
        tickvals,
        ticktext,
        range: [anyInactive ? -1 : 0, Math.max(choices.length - 1, 1)],
      };
    }
    const log = column.log && column.low > 0;
    const f = (v) => (log ? Math.log10(v) : v);
    const lo = f(column.low !== null ? column.low : Math.min(...values.filter((v) => v !== null)));
    const hi = f(column.high !== null ? column.high : Math.max(...values.filter((v) => v !== null)));
    const span = hi - lo || 1;
    const off = lo - 0.1 * span;
    const dim = {
      label: log ? `${column.name} (log)` : column.name,
      values: values.map((v) => (v === null ? off : f(v))),
      range: [anyInactive ? off : lo, hi],
    };
    if (log || anyInactive) {
      const ticks = [];
      const text = [];
      const decades = [];
      for (let k = Math.ceil(lo - 1e-9); k <= hi + 1e-9; k++) decades.push(k);
      if (log && decades.length >= 3) {
        for (const k of decades) {
          ticks.push(k);
          text.push(TL.num(10 ** k));
        }
      } else {
        for (let i = 0; i <= 4; i++) {
          const t = lo + (span * i) / 4;
          ticks.push(t);
          text.push(TL.num(log ? 10 ** t : t));
        }
      }
      if (anyInactive) {
        ticks.unshift(off);
        text.unshift(inactiveLabel);
      }
      dim.tickvals = ticks;
      dim.ticktext = text;
    }
    return dim;
  },

  parallel(div, data, view) {
    const rows = data.rows.filter((r) => view.shown(r.state) && r.value !== null);
    if (!rows.length || !data.columns.length) {
      Plotly.purge(div);
      div.textContent = "No trial with a value to draw yet.";
      return;
    }
    if (!div.classList.contains("js-plotly-plot")) div.textContent = "";
    const dims = data.columns.map((c) => Plots.axis(c, rows.map((r) => r.params[c.name])));
    const values = rows.map((r) => r.value);
    dims.push({ label: data.metric, values });
    Plotly.react(
      div,
      [
        {
          type: "parcoords",
          dimensions: dims,
          line: {
            color: values,
            colorscale: "Viridis",
            reversescale: data.mode === "min",
            showscale: true,
            colorbar: { title: { text: data.metric } },
          },
        },
      ],
      baseLayout("parallel", { margin: { l: 80, r: 80, t: 40, b: 20 } }),
      PLOT_CONFIG,
    );
  },

  slices(container, data, view) {
    const wanted = new Set(data.slices.map((s) => s.column.name));
    for (const child of Array.from(container.children)) {
      if (!wanted.has(child.dataset.param)) child.remove();
    }
    for (const s of data.slices) {
      let div = container.querySelector(`[data-param="${CSS.escape(s.column.name)}"]`);
      if (!div) {
        div = TL.el("div", { class: "plot small", "data-param": s.column.name });
        container.append(div);
      }
      const keep = s.states.map((state) => view.shown(state));
      const pick = (arr) => arr.filter((_, i) => keep[i]);
      const categorical = s.column.kind === "categorical" || s.column.kind === "bool";
      const numbers = pick(s.numbers);
      Plotly.react(
        div,
        [
          {
            type: scatterType(s.x.length),
            mode: "markers",
            x: pick(s.x).map((v) => (categorical ? String(v) : v)),
            y: pick(s.y),
            customdata: numbers,
            text: numbers.map((n) => view.hover(n)),
            hoverinfo: "text",
            marker: { color: pick(s.states).map((st) => TL.COLORS[st]), size: 6, opacity: 0.7 },
          },
        ],
        baseLayout(`slice-${s.column.name}`, {
          margin: { l: 50, r: 10, t: 10, b: 40 },
          xaxis: {
            title: { text: s.column.name },
            type: categorical ? "category" : s.column.log ? "log" : "linear",
            dtick: s.column.log ? 1 : undefined,
          },
          yaxis: { title: { text: data.metric } },
          showlegend: false,
        }),
        PLOT_CONFIG,
      );
      clickOpens(div, view);
    }
  },

  // Mean value per cell of a 30x30 grid over the two parameters (log axes in log
  // space, categories by index), drawn as a contour under the trials themselves.
  contour(div, data, view) {
    const pts = data.points.filter((p) => view.shown(view.stateOf(p[3])));
    const code = (column, v) => {
      if (column.kind === "categorical" || column.kind === "bool") {
        return (column.choices || []).map(String).indexOf(String(v));
      }
      return column.log && v > 0 ? Math.log10(v) : v;
    };
    const decode = (column, u) => (column.log && column.kind !== "categorical" ? 10 ** u : u);
    const xs = pts.map((p) => code(data.x, p[0]));
    const ys = pts.map((p) => code(data.y, p[1]));
    const traces = [];
    if (pts.length >= 3) {
      const n = 30;
      const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
      const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
      const sum = Array.from({ length: n }, () => new Array(n).fill(0));
      const count = Array.from({ length: n }, () => new Array(n).fill(0));
      const cell = (v, lo, hi) => (hi > lo ? Math.min(n - 1, Math.floor(((v - lo) / (hi - lo)) * n)) : 0);
      pts.forEach((p, i) => {
        const cx = cell(xs[i], x0, x1);
        const cy = cell(ys[i], y0, y1);
        sum[cy][cx] += p[2];
        count[cy][cx] += 1;
      });
      const z = sum.map((row, j) => row.map((s, i) => (count[j][i] ? s / count[j][i] : null)));
      const centre = (lo, hi, i) => lo + ((hi - lo) * (i + 0.5)) / n;
      traces.push({
        type: "contour",
        x: Array.from({ length: n }, (_, i) => decode(data.x, centre(x0, x1, i))),
        y: Array.from({ length: n }, (_, j) => decode(data.y, centre(y0, y1, j))),
        z,
        connectgaps: true,
        colorscale: "Viridis",
        reversescale: data.mode === "min",
        hoverinfo: "skip",
        colorbar: { title: { text: data.metric } },
      });
    }
    traces.push({
      type: "scatter",
      mode: "markers",
      x: pts.map((p, i) => (data.x.kind === "categorical" || data.x.kind === "bool" ? xs[i] : p[0])),
      y: pts.map((p, i) => (data.y.kind === "categorical" || data.y.kind === "bool" ? ys[i] : p[1])),
      customdata: pts.map((p) => p[3]),
      text: pts.map((p) => view.hover(p[3])),
      hoverinfo: "text",
      marker: { color: "#fff", size: 5, line: { color: "#000", width: 1 } },
      showlegend: false,
    });
    const axis = (column) => {
      if (column.kind === "categorical" || column.kind === "bool") {
        const choices = (column.choices || []).map(String);
        return { title: { text: column.name }, tickvals: choices.map((_, i) => i), ticktext: choices };
      }
      return { title: { text: column.name }, type: column.log ? "log" : "linear", dtick: column.log ? 1 : undefined };
    };
    Plotly.react(
      div,
      traces,
      baseLayout(`contour-${data.x.name}-${data.y.name}`, { xaxis: axis(data.x), yaxis: axis(data.y) }),
      PLOT_CONFIG,
    );
    clickOpens(div, view);
  },

  importances(div, data) {
    const names = Object.keys(data.importances).reverse();
    Plotly.react(
      div,
      [
        {
          type: "bar",
          orientation: "h",
          x: names.map((n) => data.importances[n]),
          y: names,
          marker: { color: "#0969da" },
          hovertemplate: "%{y}: %{x:.3f}<extra></extra>",
        },
      ],
      baseLayout("importances", {
        margin: { l: 160, r: 20, t: 10, b: 40 },
        xaxis: { title: { text: "share of importance" }, range: [0, 1] },
        height: Math.max(220, 28 * names.length + 60),
      }),
      PLOT_CONFIG,
    );
  },

  rungs(div, data, view) {
    const rows = data.rows.filter((r) => view.shown(view.stateOf(r.trial)) && r.value !== null);
    const traces = [];
    const type = scatterType(data.rows.length);
    const lineX = [];
    const lineY = [];
    const byTrial = new Map();
    for (const r of rows) {
      if (!byTrial.has(r.trial)) byTrial.set(r.trial, []);
      byTrial.get(r.trial).push(r);
    }
    for (const list of byTrial.values()) {
      if (list.length < 2) continue;
      for (const r of list) {
        lineX.push(r.epochs);
        lineY.push(r.value);
      }
      lineX.push(null);
      lineY.push(null);
    }
    traces.push({
      type,
      mode: "lines",
      x: lineX,
      y: lineY,
      line: { color: "#bbb", width: 1 },
      hoverinfo: "skip",
      showlegend: false,
    });
    for (const [outcome, color] of Object.entries(OUTCOME_COLORS)) {
      const pts = rows.filter((r) => r.outcome === outcome);
      if (!pts.length) continue;
      traces.push({
        type,
        mode: "markers",
        name: outcome,
        x: pts.map((r) => r.epochs),
        y: pts.map((r) => r.value),
        customdata: pts.map((r) => r.trial),
        text: pts.map(
          (r) => `${view.hover(r.trial)}<br>bracket ${r.bracket}, rung ${r.rung} (${r.epochs} epochs): ${outcome}`,
        ),
        hoverinfo: "text",
        marker: { color, size: 7 },
      });
    }
    Plotly.react(
      div,
      traces,
      baseLayout("rungs", {
        xaxis: { title: { text: "epochs at the rung" }, type: "log" },
        yaxis: { title: { text: "value at the rung" } },
      }),
      PLOT_CONFIG,
    );
    clickOpens(div, view);
  },

  lineage(div, data, view) {
    const edges = data.edges.filter((e) => view.shown(e.state));
    const memberOf = new Map(data.edges.map((e) => [e.child, e.member]));
    const segX = [];
    const segY = [];
    const linkX = [];
    const linkY = [];
    for (const e of edges) {
      segX.push(e.first_step, e.last_step, null);
      segY.push(e.member, e.member, null);
      if (e.parent !== null && memberOf.has(e.parent)) {
        linkX.push(e.step, e.first_step, null);
        linkY.push(memberOf.get(e.parent), e.member, null);
      }
    }
    const changed = (e) =>
      Object.entries(e.changed)
        .map(([k, v]) => `${k}: ${TL.num(v[0])} → ${TL.num(v[1])}`)
        .join("<br>");
    Plotly.react(
      div,
      [
        { type: "scatter", mode: "lines", name: "trained", x: segX, y: segY, line: { color: "#0969da", width: 3 }, hoverinfo: "skip" },
        { type: "scatter", mode: "lines", name: "copied from", x: linkX, y: linkY, line: { color: "#d81b60", dash: "dot" }, hoverinfo: "skip" },
        {
          type: "scatter",
          mode: "markers",
          name: "trial",
          x: edges.map((e) => e.last_step),
          y: edges.map((e) => e.member),
          customdata: edges.map((e) => e.child),
          text: edges.map(
            (e) =>
              `trial #${e.child}${e.parent === null ? "" : ` copied #${e.parent} at step ${e.step}`}` +
              `<br>value ${TL.num(e.value)}` +
              (changed(e) ? `<br>${changed(e)}` : ""),
          ),
          hoverinfo: "text",
          marker: { color: edges.map((e) => TL.COLORS[e.state] || "#555"), size: 8 },
        },
      ],
      baseLayout("lineage", {
        xaxis: { title: { text: "step" } },
        yaxis: { title: { text: "population member" }, dtick: 1 },
      }),
      PLOT_CONFIG,
    );
    clickOpens(div, view);
  },
};
