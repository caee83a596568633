// Shared by every page of the tunelab dashboard: fetching JSON, polling, building DOM
// (always through textContent: study names and parameters are data, never markup),
// and formatting numbers and times.
"use strict";

const TL = {
  POLL_MS: 2000,
  STATES: ["waiting", "running", "paused", "completed", "pruned", "failed"],
  COLORS: {
    waiting: "#9e9e9e",
    running: "#1e88e5",
    paused: "#8e24aa",
    completed: "#2e7d32",
    pruned: "#ef6c00",
    failed: "#c62828",
  },

  // plotly.js (4.8 MB) takes about a second to start, and the page can do nothing
  // meanwhile: pages preload it, start their data requests, then call this to run it.
  plotly() {
    if (!TL._plotly) {
      TL._plotly = window.Plotly
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const script = document.createElement("script");
            script.src = "/assets/plotly.min.js";
            script.addEventListener("load", () => resolve());
            script.addEventListener("error", () => reject(new Error("cannot load plotly.js")));
            document.head.append(script);
          });
    }
    return TL._plotly;
  },

  // Let the browser paint before the next piece of work.
  nextFrame() {
    return new Promise((resolve) => window.setTimeout(resolve, 0));
  },

  query(name) {
    return new URLSearchParams(window.location.search).get(name);
  },

  url(path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    }
    const text = q.toString();
    return text ? `${path}?${text}` : path;
  },

  async json(path, params) {
    const response = await fetch(TL.url(path, params), { cache: "no-store" });
    const body = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  },

  // Call `step` now and then every POLL_MS after each call ends (never two at once).
  poll(step) {
    const run = async () => {
      try {
        await step();
        TL.setProblem(null);
      } catch (err) {
        TL.setProblem(err.message || String(err));
      }
      window.setTimeout(run, TL.POLL_MS);
    };
    run();
  },

  setProblem(text) {
    const box = document.getElementById("problem");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  },

  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },

  num(value) {
    if (value === null || value === undefined) return "-";
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return value.toExponential(3);
    return String(Number(value.toPrecision(4)));
  },

  seconds(value) {
    if (value === null || value === undefined) return "-";
    if (value < 60) return `${value.toFixed(1)} s`;
    if (value < 3600) return `${(value / 60).toFixed(1)} min`;
    return `${(value / 3600).toFixed(1)} h`;
  },

  ago(epoch, now) {
    if (!epoch) return "-";
    const d = Math.max(0, (now || Date.now() / 1000) - epoch);
    if (d < 5) return "just now";
    return `${TL.seconds(d)} ago`;
  },

  date(epoch) {
    if (!epoch) return "-";
    return new Date(epoch * 1000).toLocaleString();
  },

  badge(state) {
    return TL.el("span", { class: `badge state-${state}`, text: state });
  },

  studyLink(name) {
    return TL.el("a", { href: TL.url("/study", { name }), text: name });
  },

  trialLink(study, number, text) {
    return TL.el("a", {
      href: TL.url("/trial", { study, number }),
      text: text === undefined ? `#${number}` : text,
    });
  },

  params(params) {
    return Object.entries(params || {})
      .map(([k, v]) => `${k}=${TL.num(v)}`)
      .join(", ");
  },

  // Replace a table body's rows.
  fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  },

  row(...cells) {
    return TL.el("tr", {}, ...cells.map((c) => TL.el("td", {}, c)));
  },
};
