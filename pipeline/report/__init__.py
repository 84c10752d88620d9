"""Self-contained HTML flag report for supervisors."""

from pipeline.report.render import render_report

__all__ = ["render_report"]
