// The comparison page: its runs (each a study) and its report, rendered live by the
// server. The runs refresh every 2 s; the report, costlier, when a run changed and at
// most every 30 s.
"use strict";

const REPORT_EVERY_MS = 30000;
const C = { name: TL.query("name"), version: null, shownVersion: null, reportAt: 0 };

async function refresh() {
  const data = await TL.json("/api/comparison", { name: C.name });
  document.title = `${data.name} - tunelab dashboard`;
  document.getElementById("where").textContent = data.name;
  document.getElementById("title").textContent = `comparison ${data.name}`;
  document.getElementById("live").textContent = `updated ${new Date().toLocaleTimeString()}`;
  TL.fill(
    document.querySelector("#runs tbody"),
    data.runs.map((r) =>
      TL.row(
        String(r.strategy),
        String(r.repeat),
        TL.studyLink(r.name),
        TL.badge(r.status),
        r.result || "-",
        String(r.trials),
        r.best_trial === null ? "-" : TL.trialLink(r.name, r.best_trial, TL.num(r.best_value)),
        TL.ago(r.last_activity, data.now),
      ),
    ),
  );
  C.version = data.version;
  if (C.version !== C.shownVersion && Date.now() - C.reportAt >= REPORT_EVERY_MS) {
    C.shownVersion = C.version;
    C.reportAt = Date.now();
    document.getElementById("report").src = TL.url("/comparison/report", { name: C.name, v: C.version });
  }
}

if (!C.name) {
  TL.setProblem("No comparison named: open /comparison?name=NAME");
} else {
  TL.poll(refresh);
}
