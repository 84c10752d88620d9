"""Training: what researchers run to build and compare models.

Owns the label definitions (``labels``, the typed view of ``configs/labels.yaml``), one reader
per public corpus (``corpora/``), labeled records and splits, fine-tuning and head refit,
the quick model, session-estimator fitting, evaluation, Label Studio round trips, model cards
and the registry.

May import every stage below it (``ingest``, ``nlp``, ``model``, ``sessions``, ``store``) and
the steps; never the flows or the command line.
"""
