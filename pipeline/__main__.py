"""``python -m pipeline`` runs the ``alliance`` command line."""

from pipeline.cli import main

main()
