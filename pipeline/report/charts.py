"""Inline SVG charts (no JavaScript, no network): a client's trajectory with intervals."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from pipeline.schemas import SessionEstimate

WIDTH, HEIGHT, PAD = 520, 150, 28
LOW, HIGH = 1.0, 5.0


def _y(value: float) -> float:
    return PAD + (HIGH - value) / (HIGH - LOW) * (HEIGHT - 2 * PAD)


def trajectory_svg(estimates: Sequence[SessionEstimate], flagged: set[str]) -> str:
    """Overall estimate per session (line), its 80% interval (band), flagged sessions in red."""
    if not estimates:
        return ""
    n = len(estimates)
    step = (WIDTH - 2 * PAD) / max(1, n - 1)
    xs = [PAD + i * step for i in range(n)]
    band_top = [f"{x:.1f},{_y(e.overall_high):.1f}" for x, e in zip(xs, estimates)]
    band_bottom = [f"{x:.1f},{_y(e.overall_low):.1f}" for x, e in zip(xs, estimates)][::-1]
    line = " ".join(f"{x:.1f},{_y(e.overall):.1f}" for x, e in zip(xs, estimates))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="overall alliance by session">',
    ]
    for level in (1, 2, 3, 4, 5):
        y = _y(level)
        parts.append(
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(f'<text x="4" y="{y + 4:.1f}" font-size="10" fill="#666">{level}</text>')
    parts.append(
        f'<polygon points="{" ".join(band_top + band_bottom)}" fill="#9ecae1" fill-opacity="0.45"/>'
    )
    for target, color in (("task", "#6baed6"), ("bond", "#74c476"), ("goal", "#fd8d3c")):
        points = " ".join(f"{x:.1f},{_y(getattr(e, target)):.1f}" for x, e in zip(xs, estimates))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{color}" '
            f'stroke-width="1" stroke-dasharray="3,2"><title>{target}</title></polyline>'
        )
    parts.append(f'<polyline points="{line}" fill="none" stroke="#08519c" stroke-width="2"/>')
    for x, estimate in zip(xs, estimates):
        color = "#cb181d" if estimate.session_id in flagged else "#08519c"
        label = escape(f"{estimate.session_date} overall {estimate.overall:.2f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{_y(estimate.overall):.1f}" r="4" '
            f'fill="{color}"><title>{label}</title></circle>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 6}" font-size="9" text-anchor="middle" '
            f'fill="#444">{escape(estimate.session_date.strftime("%m-%d"))}</text>'
        )
    for i, (target, color) in enumerate(
        (("overall", "#08519c"), ("task", "#6baed6"), ("bond", "#74c476"), ("goal", "#fd8d3c"))
    ):
        x = WIDTH - PAD - 220 + i * 55
        parts.append(
            f'<line x1="{x}" x2="{x + 12}" y1="10" y2="10" stroke="{color}" stroke-width="2"/>'
        )
        parts.append(f'<text x="{x + 15}" y="13" font-size="9" fill="#444">{target}</text>')
    parts.append("</svg>")
    return "".join(parts)


FIT_WIDTH, FIT_HEIGHT, FIT_PAD = 260, 170, 30


def fit_svg(estimates: Sequence[SessionEstimate]) -> str:
    """Overall estimate (1-5, up) against session structure (0-1, right), one dot per session
    with a structure value, numbered in date order; "" with fewer than two such sessions."""
    points = [(i + 1, e) for i, e in enumerate(estimates) if e.structure is not None]
    if len(points) < 2:
        return ""
    inner_w, inner_h = FIT_WIDTH - 2 * FIT_PAD, FIT_HEIGHT - 2 * FIT_PAD

    def x(structure: float) -> float:
        return FIT_PAD + structure * inner_w

    def y(value: float) -> float:
        return FIT_PAD + (HIGH - value) / (HIGH - LOW) * inner_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {FIT_WIDTH} {FIT_HEIGHT}" '
        f'width="{FIT_WIDTH}" height="{FIT_HEIGHT}" role="img" '
        'aria-label="overall alliance estimate against session structure">',
        f'<rect x="{FIT_PAD}" y="{FIT_PAD}" width="{inner_w}" height="{inner_h}" '
        'fill="none" stroke="#ccc"/>',
    ]
    for level in (1, 3, 5):
        parts.append(
            f'<text x="{FIT_PAD - 4}" y="{y(level) + 3:.1f}" font-size="9" '
            f'text-anchor="end" fill="#666">{level}</text>'
        )
    parts.append(
        f'<text x="{FIT_PAD}" y="{FIT_HEIGHT - 8}" font-size="9" fill="#444">exploratory</text>'
    )
    parts.append(
        f'<text x="{FIT_WIDTH - FIT_PAD}" y="{FIT_HEIGHT - 8}" font-size="9" '
        'text-anchor="end" fill="#444">structured</text>'
    )
    parts.append(
        f'<text x="{FIT_PAD}" y="{FIT_PAD - 8}" font-size="9" fill="#444">overall estimate</text>'
    )
    for number, estimate in points:
        cx, cy = x(estimate.structure), y(estimate.overall)
        label = escape(
            f"session {number}, {estimate.session_date}: structure {estimate.structure:.2f}, "
            f"overall {estimate.overall:.2f}"
        )
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#08519c" fill-opacity="0.8">'
            f"<title>{label}</title></circle>"
        )
        parts.append(
            f'<text x="{cx + 5:.1f}" y="{cy - 4:.1f}" font-size="8" fill="#444">{number}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
