"""A module shipped in a Lambda layer, importable by the fixture's layered function."""

GREETING = "hello from the layer"
