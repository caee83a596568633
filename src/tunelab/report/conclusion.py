"""The report's plain-language conclusion, computed from the numbers (never hand-written).

Which strategy is best: the best median of the primary score (mean rank breaks ties).
How sure we are, in three grades:
- confident: it beats every other strategy with a Holm-adjusted p below alpha and has
  the best median in at least 95% of bootstrap resamples;
- fairly confident: it beats at least one strategy significantly, but not all of them
  (or its bootstrap share stays under 95%);
- not confident: no difference is significant (the data cannot tell the leaders
  apart); the bootstrap share is then reported, never used to claim more.
When the repeats are too few for any Mann-Whitney test to reach alpha after the
correction, the paragraph says so and how many repeats would be needed.
"""

from __future__ import annotations

import math

from tunelab.compare.config import ComparisonBudget
from tunelab.report.analysis import Analysis, ScoreAnalysis, ScoreKind

CONFIDENT_P_BEST = 0.95


def _num(value: float) -> str:
    return f"{value:.4g}"


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def _p_bound(value: float) -> str:
    """The largest of several p-values, as a bound."""
    return "< 0.001" if value < 0.001 else f"at most {value:.3f}"


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def smallest_possible_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value an exact Mann-Whitney test can give for these sizes."""
    return min(1.0, 2.0 / math.comb(n_a + n_b, n_a))


def repeats_needed(n_pairs: int, alpha: float) -> int:
    """Fewest equal repeats for which the smallest Holm-adjusted p (the smallest raw p
    times the number of pairs) can fall below alpha."""
    n = 2
    while n_pairs * smallest_possible_p(n, n) >= alpha and n < 100:
        n += 1
    return n


def _budget_text(analysis: Analysis) -> str:
    budget = analysis.results.budget
    ((kind, amount),) = budget.items()
    return ComparisonBudget(kind, amount).describe()  # type: ignore[arg-type]


def _leaders(score: ScoreAnalysis, order: list[str]) -> list[str]:
    """The strategies that share the best median (the first of ``order`` among them)."""
    top = score.summaries[order[0]].median
    return [name for name in order if score.summaries[name].median == top]


def _lead_sentence(analysis: Analysis, score: ScoreAnalysis, order: list[str]) -> str:
    best = order[0]
    s = score.summaries[best]
    leaders = _leaders(score, order)
    start = f"At a budget of {_budget_text(analysis)}, over {analysis.results.repeats} repeats, "
    spread = f"(interquartile range {_num(s.q1)} to {_num(s.q3)}, {s.n} runs)"
    if len(leaders) == 1:
        text = start + f"{best} reached the best median {score.label}: {_num(s.median)} {spread}"
    else:
        ranks = " against ".join(f"{score.ranks.get(n, math.nan):.2f}" for n in leaders[:2])
        text = (
            start + f"{_names(leaders)} share the best median {score.label}, {_num(s.median)}; "
            f"{best} comes first on mean rank ({ranks})"
        )
    others = [f"{n} {_num(score.summaries[n].median)}" for n in order if n not in leaders][:3]
    if others:
        text += f", ahead of {_names(others)}"
    return text + "."


def _certainty(analysis: Analysis, score: ScoreAnalysis, order: list[str]) -> list[str]:
    best, alpha = order[0], analysis.alpha
    beaten, unseparated = [], []
    for other in order[1:]:
        test = score.test_between(best, other)
        if test is None:
            continue
        if test.significant(alpha) and test.better == best:
            beaten.append((other, test))
        else:
            unseparated.append((other, test))
    runner = order[1]
    runner_test = score.test_between(best, runner)
    assert runner_test is not None
    a12 = runner_test.a12 if runner_test.a == best else 1 - runner_test.a12
    sentences = []
    if not unseparated:
        worst_p = max(t.p_holm for _, t in beaten)
        sentences.append(
            f"The lead is statistically clear: {best} beats every other strategy "
            f"(two-sided Mann-Whitney U, Holm-adjusted p {_p_bound(worst_p)}, "
            f"alpha = {alpha:g}); a run of {best} scores better than a run of {runner} "
            f"{a12:.0%} of the time (Vargha-Delaney A12, a {runner_test.magnitude} effect)."
        )
    elif beaten:
        worst_p = max(t.p_holm for _, t in beaten)
        close = ", ".join(
            f"{name} (adjusted p {_p(t.p_holm)}, A12 = {t.a12 if t.a == best else 1 - t.a12:.2f})"
            for name, t in unseparated
        )
        sentences.append(
            f"{best} is significantly better than {_names([n for n, _ in beaten])} "
            f"(Holm-adjusted p {_p_bound(worst_p)}, alpha = {alpha:g}), but these runs "
            f"cannot separate it from {close}."
        )
    else:
        smallest = min(t.p_holm for t in score.pairwise)
        sentences.append(
            f"None of the pairwise differences is statistically significant (two-sided "
            f"Mann-Whitney U with Holm correction; the smallest adjusted p is "
            f"{smallest:.3f}, alpha = {alpha:g}); a run of {best} scores better than a run of "
            f"{runner} {a12:.0%} of the time (ties counted half), a {runner_test.magnitude} "
            "effect."
        )
    p_best = score.p_best.get(best, math.nan)
    rank = score.ranks.get(best, math.nan)
    sentences.append(
        f"Resampling the runs, {best} has the best median in {p_best:.0%} of bootstrap "
        "resamples"
        + (
            f", and its mean rank is {rank:.2f} (1 = best) over {score.ranked_repeats} repeats."
            if not math.isnan(rank)
            else "."
        )
    )
    if not unseparated and p_best >= CONFIDENT_P_BEST:
        verdict = f"We are confident that {best} is the best strategy at this budget."
    elif beaten:
        verdict = (
            f"We are fairly, not fully, confident that {best} is the best strategy at this budget."
        )
    else:
        verdict = (
            "We are not confident which strategy is best at this budget: the leaders are "
            "within noise of each other."
        )
    sentences.append(verdict)
    n_pairs = len(score.pairwise)
    floor = n_pairs * min(smallest_possible_p(t.n_a, t.n_b) for t in score.pairwise)
    if floor >= alpha:
        runs = min(s.n for s in score.summaries.values())
        sentences.append(
            f"With {runs} runs per strategy and {n_pairs} pairwise "
            f"comparison{'s' if n_pairs > 1 else ''}, no difference "
            f"could reach significance even if every run of one strategy beat every run of "
            f"another; about {repeats_needed(n_pairs, alpha)} repeats per strategy are needed "
            "for that."
        )
    return sentences


def _secondary(analysis: Analysis, order: list[str]) -> str | None:
    other_kind: ScoreKind = "validation" if analysis.primary == "test" else "test"
    other = analysis.scores.get(other_kind)
    if other is None or len(other.values) < 2:
        return None
    other_order = other.order(analysis.results.mode)
    leaders = _leaders(other, other_order)
    median = _num(other.summaries[leaders[0]].median)
    if len(leaders) > 1:
        return f"On {other.label}, {_names(leaders)} share the best median ({median})."
    if leaders[0] == order[0]:
        return f"On {other.label}, {leaders[0]} also has the best median ({median})."
    return (
        f"On {other.label}, however, {leaders[0]} has the best median ({median}), so the "
        "ranking depends on the score."
    )


def _caveats(analysis: Analysis) -> list[str]:
    out = []
    unavailable = [s.name for s in analysis.results.strategies if s.status == "unavailable"]
    if unavailable:
        out.append(
            f"{_names(unavailable)} could not run in this tunelab and "
            f"{'is' if len(unavailable) == 1 else 'are'} not compared."
        )
    failed = [s.name for s in analysis.results.strategies if s.status == "failed"]
    if failed:
        out.append(
            f"{_names(failed)} failed in every repeat and "
            f"{'is' if len(failed) == 1 else 'are'} not compared."
        )
    partial = sum(len(s.failed) for s in analysis.results.strategies if s.finished)
    if partial:
        out.append(f"{partial} run(s) of the compared strategies failed; they rank last.")
    missing = [
        s.name
        for s in analysis.results.strategies
        if s.available and len(s.finished) + len(s.failed) < s.repeats
    ]
    if missing:
        out.append(
            f"The comparison is unfinished ({_names(missing)} "
            f"{'has' if len(missing) == 1 else 'have'} runs still to do); run "
            "`tunelab compare` again to complete it."
        )
    return out


def conclusion(analysis: Analysis) -> str:
    """One paragraph: the best strategy at this budget and how sure the numbers make us."""
    score = analysis.scores.get(analysis.primary)
    if score is None or not score.values:
        sentences = ["No strategy finished a run, so there is no best strategy to name."]
    else:
        order = score.order(analysis.results.mode)
        sentences = [_lead_sentence(analysis, score, order)]
        if len(order) == 1:
            sentences.append(
                "It is the only strategy with finished runs, so there is nothing to compare "
                "it with and this report cannot say whether another strategy would do better."
            )
        else:
            sentences.extend(_certainty(analysis, score, order))
            secondary = _secondary(analysis, order)
            if secondary:
                sentences.append(secondary)
    sentences.extend(_caveats(analysis))
    return " ".join(sentences)
