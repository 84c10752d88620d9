"""Sessions: from scored passages to per-session estimates, flags and client trajectories.

Owns the session features pooled from passages (``features``), the session estimator with its
conformal intervals (``estimator``), the flag rules (``flags``) and a registry model as the
pipeline uses it, passage model plus session estimator (``alliance_model``).

May import: ``pipeline.config``, ``pipeline.schemas`` and ``pipeline.model``. Never ``store``,
``report``, ``training``, the flows or the command line.
"""
