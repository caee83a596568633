// The trial page: configuration, every reported metric as a curve, pictures (a GAN
// trial's image grids and loss curves), user attributes. Polls every 2 s and redraws
// when the trial changed; a finished trial never changes, so polling then stops.
"use strict";

const T = { study: TL.query("study"), number: TL.query("number"), version: null, finished: false };

function fact(label, value) {
  return TL.el("div", {}, TL.el("span", { text: label }), value);
}

function renderHead(t) {
  document.title = `trial ${t.number} of ${t.study} - tunelab dashboard`;
  document.getElementById("where").textContent = t.study;
  document.getElementById("title").replaceChildren(`trial #${t.number} of `, TL.studyLink(t.study));
  const facts = [
    fact("state", TL.badge(t.state)),
    fact(t.metric, TL.num(t.value)),
    fact("steps", String(t.steps)),
    fact("budget", TL.num(t.budget)),
    fact("duration", TL.seconds(t.duration)),
    fact("started", TL.date(t.started_at)),
    fact("ended", TL.date(t.ended_at)),
    fact("worker", t.worker || "-"),
    t.retry_of === null ? null : fact("retry of", `#${t.retry_of}`),
  ];
  document.getElementById("facts").replaceChildren(...facts.filter(Boolean));
  document.getElementById("live").textContent = `updated ${new Date().toLocaleTimeString()}`;
  const failed = t.error || t.traceback;
  document.getElementById("section-error").hidden = !failed;
  document.getElementById("error").textContent = [t.failure ? `(${t.failure})` : "", t.error || "", t.traceback || ""]
    .filter(Boolean)
    .join("\n");
}

function renderConfig(t) {
  const names = Array.from(new Set([...Object.keys(t.params), ...Object.keys(t.proposal)]));
  TL.fill(
    document.querySelector("#config tbody"),
    names.map((n) => TL.row(n, TL.num(t.params[n]), n in t.proposal ? TL.num(t.proposal[n]) : "-")),
  );
  TL.fill(
    document.querySelector("#metrics tbody"),
    Object.entries(t.metrics).map(([k, v]) => TL.row(k, TL.num(v))),
  );
  document.getElementById("user-attrs").textContent = JSON.stringify(t.user_attrs, null, 2);
  document.getElementById("meta").textContent = JSON.stringify(t.meta, null, 2);
}

function renderCurves(t) {
  const box = document.getElementById("curves");
  const names = Object.keys(t.reports.metrics);
  names.sort((a, b) => (a === t.metric ? -1 : b === t.metric ? 1 : 0));
  document.getElementById("note-reports").textContent = t.reports.steps.length
    ? `${t.reports.steps.length} reports`
    : "No report yet.";
  for (const child of Array.from(box.children)) {
    if (!names.includes(child.dataset.metric)) child.remove();
  }
  for (const name of names) {
    let div = box.querySelector(`[data-metric="${CSS.escape(name)}"]`);
    if (!div) {
      div = TL.el("div", { class: "plot small", "data-metric": name });
      box.append(div);
    }
    Plotly.react(
      div,
      [
        {
          type: "scatter",
          mode: "lines+markers",
          x: t.reports.steps,
          y: t.reports.metrics[name],
          name,
          line: { color: name === t.metric ? "#d81b60" : "#0969da" },
          hovertemplate: `step %{x}<br>${name} = %{y}<extra></extra>`,
        },
      ],
      {
        uirevision: name,
        margin: { l: 55, r: 10, t: 30, b: 40 },
        title: { text: name, font: { size: 13 } },
        xaxis: { title: { text: "step" } },
      },
      { responsive: true, displaylogo: false },
    );
  }
}

function renderPictures(t) {
  const box = document.getElementById("pictures");
  document.getElementById("section-pictures").hidden = t.images.length === 0;
  box.replaceChildren(
    ...t.images.map((im) =>
      TL.el(
        "figure",
        {},
        TL.el("img", {
          src: TL.url("/api/trial/image", { study: t.study, number: t.number, index: im.index, v: t.revision }),
          alt: im.label,
          loading: "lazy",
        }),
        TL.el("figcaption", { text: im.label }),
      ),
    ),
  );
}

async function refresh() {
  if (T.finished) return;
  const t = await TL.json("/api/trial", { study: T.study, number: T.number });
  renderHead(t);
  if (t.revision === T.version) return;
  T.version = t.revision;
  renderConfig(t);
  await TL.plotly();
  renderCurves(t);
  renderPictures(t);
  T.finished = t.finished;
}

if (!T.study || T.number === null) {
  TL.setProblem("No trial named: open /trial?study=NAME&number=N");
} else {
  TL.poll(refresh);
}
