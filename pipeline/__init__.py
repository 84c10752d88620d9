"""alliance: estimate the therapeutic alliance from de-identified session notes and transcripts."""

__version__ = "0.1.0"
