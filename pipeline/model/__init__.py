"""The passage model: what turns each passage into head probabilities and a vector.

Owns the pinned base encoder and its sha256 check (``encoder``), the fine-tuned multi-task
network with its LoRA adapters (``network``), the heads' names and classes (``heads``), the
inference engine and its batching (``engine``, ``batches``), the quick frozen-embedding model
(``quick``), loading and verifying a model folder (``folder``, ``artifacts``) and passages to
``PassageScores`` (``classify``).

May import: ``pipeline.config``, ``pipeline.schemas`` and its own modules. Never ``sessions``,
``store``, ``report``, ``training``, the flows or the command line.
"""
