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
