"""spaCy + medspaCy processing: sections, sentence passages, negation."""
