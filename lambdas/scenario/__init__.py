"""The scenario format: the contract between a user's file, the CLI and the Lambdas.

One module per job: ``parsing`` (text → a mapping), ``expectation`` and
``models`` (the pydantic models), ``checks`` (checks spanning fields),
``limits`` (the engine's limits and the checks against them), ``loading``
(all of them, every problem at once) and ``schema`` (the JSON Schema).
"""
