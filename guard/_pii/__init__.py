"""PII detection (Presidio + spaCy) and the reversible vault: analyzer, recognizers, NLP engine, vault."""
