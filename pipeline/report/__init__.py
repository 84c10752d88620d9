"""The supervisor report: self-contained HTML from Jinja2 templates with inline SVG charts.

May import: ``pipeline.config``, ``pipeline.schemas``, ``pipeline.model`` and
``pipeline.sessions`` (the export hands it records; it never reads the store). Never ``store``,
``training``, the flows or the command line.
"""

from pipeline.report.render import render_report

__all__ = ["render_report"]
