// The studies page: every study and comparison in the storage, refreshed every 2 s.
"use strict";

function countsText(counts) {
  return TL.STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(", ");
}

async function refresh() {
  const data = await TL.json("/api/studies");
  document.getElementById("storage").textContent = data.storage;
  document.getElementById("live").textContent = `updated ${new Date().toLocaleTimeString()}`;
  const studies = document.querySelector("#studies tbody");
  TL.fill(
    studies,
    data.studies.map((s) => {
      const best = s.best_trial === null ? "-" : TL.trialLink(s.name, s.best_trial, TL.num(s.best_value));
      const row = TL.row(
        TL.studyLink(s.name),
        TL.badge(s.status),
        String(s.trials),
        countsText(s.counts),
        `${s.metric} (${s.mode})`,
        best,
        TL.ago(s.last_activity, data.now),
        TL.date(s.created_at),
      );
      row.dataset.study = s.name;
      return row;
    }),
  );
  document.getElementById("no-studies").hidden = data.studies.length > 0;
  const comparisons = document.querySelector("#comparisons tbody");
  TL.fill(
    comparisons,
    data.comparisons.map((c) =>
      TL.row(
        TL.el("a", { href: TL.url("/comparison", { name: c.name }), text: c.name }),
        TL.badge(c.status),
        String(c.runs),
        String(c.finished),
        String(c.failed),
        String(c.running),
        String(c.trials),
        TL.ago(c.last_activity, data.now),
      ),
    ),
  );
  document.getElementById("no-comparisons").hidden = data.comparisons.length > 0;
}

TL.poll(refresh);
