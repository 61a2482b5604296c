"""Survey and check-in instruments: the versioned YAML format (``format``), validating and scoring
answers (``scoring``), where a check-in finds the version it asks (``selectors``), storing the
built-in library and an organisation's own (``services``) and their API (docs/instruments.md)."""
