"""spaCy + medspaCy processing: the pipeline factory, note sections, sentence passages, negation.

May import: ``pipeline.config``, ``pipeline.schemas`` and its own modules. Never ``ingest``,
``model``, ``sessions``, ``store``, ``report``, ``training``, the flows or the command line.
"""
