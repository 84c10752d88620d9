"""Approach fit: has a client's alliance estimate run higher in their more structured or in
their more exploratory sessions?

The association is read within one client, over their sessions, as a **partial Spearman
correlation** of the overall estimate with the session's structure, holding session order
fixed: both are ranked, each rank series is regressed on the rank of the session date, and the
residuals are correlated. A client whose alliance simply grows while structure happens to rise
is therefore not a structure client: once the trend is removed, nothing is left to correlate.
The interval is a seeded percentile bootstrap over the client's sessions.

The call is ``structure`` or ``exploration`` only when there are enough sessions with a
structure value, their structure spans enough of the scale, the interval excludes 0, and the
more structured half of the sessions is estimated at least ``min_difference`` above (or below)
the other half: a difference smaller than the session estimator's own error is no pattern to
show a supervisor. Otherwise ``unclear``, with the reason in plain words. These are
associations in a few sessions, never causes: the report says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from pipeline.config import ApproachConfig
from pipeline.schemas import ClientFit, SessionEstimate

MIN_DISTINCT = 3  # a bootstrap resample needs this many distinct sessions to say anything


def _residuals(values: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Row-wise residuals of ``values`` after a least-squares line on ``control`` (both
    ``(rows, n)``); a constant control leaves the deviations from the mean."""
    values_centred = values - values.mean(axis=1, keepdims=True)
    control_centred = control - control.mean(axis=1, keepdims=True)
    spread = (control_centred**2).sum(axis=1, keepdims=True)
    slope = np.divide(
        (values_centred * control_centred).sum(axis=1, keepdims=True),
        spread,
        out=np.zeros_like(spread),
        where=spread > 1e-12,
    )
    return values_centred - slope * control_centred


def _partial_spearman_rows(y: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """:func:`partial_spearman` of each row of ``(rows, n)`` arrays; NaN where undefined."""
    y_left, x_left = (_residuals(rankdata(v, axis=1), rankdata(t, axis=1)) for v in (y, x))
    spread = np.sqrt((y_left**2).sum(axis=1) * (x_left**2).sum(axis=1))
    flat = np.minimum(np.abs(y_left).max(axis=1), np.abs(x_left).max(axis=1)) < 1e-9
    defined = (spread >= 1e-9) & ~flat
    rho = np.divide((y_left * x_left).sum(axis=1), spread, out=np.zeros_like(spread), where=defined)
    return np.where(defined, np.clip(rho, -1.0, 1.0), np.nan)


def partial_spearman(y: Sequence[float], x: Sequence[float], t: Sequence[float]) -> float | None:
    """Spearman correlation of ``y`` and ``x`` with ``t`` partialled out, or None when either
    has no variation left once ``t`` is removed."""
    rows = (np.asarray(v, dtype=float)[None, :] for v in (y, x, t))
    rho = float(_partial_spearman_rows(*rows)[0])
    return None if np.isnan(rho) else rho


def bootstrap_interval(
    y: np.ndarray, x: np.ndarray, t: np.ndarray, level: float, resamples: int, seed: int
) -> tuple[float, float] | None:
    """Central ``level`` percentile interval of the partial Spearman over sessions resampled
    with replacement (resamples with fewer than 3 distinct sessions are skipped).

    All resamples are ranked and correlated at once (one array each), not one by one: a
    clinic's export fits every client, and 2,000 resamples one at a time took half a second
    a client.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    # One draw per resample, as before vectorising, so the same seed gives the same interval.
    picks = np.stack([rng.integers(0, n, size=n) for _ in range(resamples)])
    distinct = (np.diff(np.sort(picks, axis=1), axis=1) != 0).sum(axis=1) + 1
    picks = picks[distinct >= MIN_DISTINCT]
    rho = _partial_spearman_rows(*(np.asarray(v, dtype=float)[picks] for v in (y, x, t)))
    values = rho[~np.isnan(rho)]
    if len(values) < resamples // 2:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def _trend(overall: np.ndarray) -> float | None:
    """Change in the overall estimate per session (least-squares slope over session order)."""
    if len(overall) < 2:
        return None
    order = np.arange(len(overall), dtype=float)
    return float(np.polyfit(order, overall, 1)[0])


def _one_kind(
    with_structure: list[tuple[int, SessionEstimate]],
) -> tuple[list[tuple[int, SessionEstimate]], str | None, int]:
    """The sessions of the client's most common kind of text (notes on a tie), the kind, and
    how many of the other kind were left out."""
    kinds = Counter(e.kind for _, e in with_structure)
    if len(kinds) <= 1:
        return with_structure, next(iter(kinds), None), 0
    main = max(kinds, key=lambda kind: (kinds[kind], kind == "note"))
    kept = [(i, e) for i, e in with_structure if e.kind == main]
    return kept, main, len(with_structure) - len(kept)


def _half_difference(x: np.ndarray, y: np.ndarray) -> float:
    """Mean estimate of the more structured half of the sessions minus the less structured
    half (the middle session left out when the count is odd)."""
    order = np.argsort(x, kind="stable")
    half = len(x) // 2
    return float(y[order[-half:]].mean() - y[order[:half]].mean())


def client_fit(estimates: Sequence[SessionEstimate], config: ApproachConfig) -> ClientFit:
    """One client's approach fit from their session estimates (any order).

    The fit reads the client's sessions of one kind of text, the more common one: a transcript
    records every reflection and question while a note summarises, so their structure and
    their estimates are not on the same footing, and mixing them would call a client an
    "exploration" client because their transcripts score higher.

    Raises:
        ValueError: No estimates, or estimates of more than one client.
    """
    if not estimates:
        raise ValueError("client_fit needs at least one session estimate")
    if len({e.client_id for e in estimates}) != 1:
        raise ValueError("client_fit reads one client's sessions at a time")
    sessions = sorted(estimates, key=lambda e: (e.session_date, e.session_id))
    overall = np.array([e.overall for e in sessions])
    structured = [(i, e) for i, e in enumerate(sessions) if e.structure is not None]
    with_structure, kind, left_out = _one_kind(structured)
    n = len(with_structure)
    rho = low = high = difference = None
    if n < config.min_sessions:
        call = "unclear"
        why = (
            f"{n} of {len(sessions)} sessions record a way of working"
            f"{' in ' + kind + 's' if left_out else ''}; a pattern needs {config.min_sessions}"
        )
    else:
        t = np.array([i for i, _ in with_structure], dtype=float)
        x = np.array([e.structure for _, e in with_structure])
        y = np.array([e.overall for _, e in with_structure])
        rho = partial_spearman(y, x, t)
        difference = _half_difference(x, y)
        interval = None
        if rho is not None:
            interval = bootstrap_interval(y, x, t, config.interval, config.bootstrap, config.seed)
            low, high = interval if interval else (None, None)
        if x.max() - x.min() < config.min_spread:
            call, why = "unclear", "session structure varied too little to compare"
        elif rho is None:
            call, why = (
                "unclear",
                "structure changed in step with time, so it cannot be told apart from a trend",
            )
        elif interval is None or interval[0] <= 0 <= interval[1]:
            call, why = "unclear", "no clear association once the trend over time is held fixed"
        elif abs(difference) < config.min_difference or (difference > 0) != (rho > 0):
            call = "unclear"
            why = (
                f"the estimates of the more and the less structured sessions differ by "
                f"{abs(difference):.2f}, less than {config.min_difference}"
            )
        else:
            call = "structure" if rho > 0 else "exploration"
            why = (
                "alliance estimate higher in more structured sessions"
                if rho > 0
                else "alliance estimate higher in more exploratory sessions"
            )
    trend = _trend(overall)
    return ClientFit(
        client_id=sessions[0].client_id,
        clinician_id=sessions[-1].clinician_id,
        n_sessions=len(sessions),
        first_date=sessions[0].session_date,
        last_date=sessions[-1].session_date,
        overall_mean=round(float(overall.mean()), 4),
        overall_trend=None if trend is None else round(trend, 4),
        approach_fit=call,
        fit_rho=None if rho is None else round(rho, 4),
        fit_low=None if low is None else round(low, 4),
        fit_high=None if high is None else round(high, 4),
        fit_difference=None if difference is None else round(difference, 4),
        fit_sessions=n,
        fit_kind=kind,
        n_structured=len(structured),
        why=why,
    )


def fit_sentence(fit: ClientFit, interval: float) -> str:
    """The fit in plain words, with its strength and n, for the supervisor report."""
    if fit.approach_fit == "unclear":
        return f"No clear pattern in {fit.n_sessions} sessions: {fit.why}."
    way = "structured" if fit.approach_fit == "structure" else "exploratory"
    what = "sessions" if fit.fit_sessions == fit.n_structured else f"{fit.fit_kind}s"
    return (
        f"In {fit.fit_sessions} {what}, the alliance estimate was higher when sessions were "
        f"more {way} (ρ = {fit.fit_rho:+.2f}, {round(interval * 100)}% interval "
        f"{fit.fit_low:+.2f} to {fit.fit_high:+.2f}, with the trend over time held fixed; "
        f"{abs(fit.fit_difference):.1f} points apart on average). "
        "A pattern worth discussing, not a rule."
    )
