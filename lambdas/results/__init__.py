"""A run's results (docs/engine.md): one module per job.

``store`` is the results table itself, the one owner of its key schema and of the
record <-> item codec (runs, steps, verdicts, cleanup, captures, listeners' items);
``records`` the shapes the handlers and the CLI read and write; ``summaries`` cuts
a value to a size; ``copies`` keeps big step results whole in the bucket;
``messages`` keeps what a run's listeners captured; ``json_text`` the one JSON text
form of stored values.
"""
