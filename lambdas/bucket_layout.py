"""Where things live in the scenario bucket: one definition for the CLI that
uploads, the handlers that read and write, and the stack that grants (infra's
`RunStorage` exposes them as attributes)."""

SCENARIOS_PREFIX = "scenarios/"
"""Uploaded scenarios, ``scenarios/<name>/<label>.json``."""
RESULTS_PREFIX = "results/"
"""Whole step results whose record holds only a summary, ``results/<run_id>/<index>.json``."""
SUITES_PREFIX = "suites/"
"""Suite lists the suite state machine reads, ``suites/<label>.json``."""
