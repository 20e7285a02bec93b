"""gigcore's domain core: entities, value objects, ports and use cases.

Imports the standard library and attrs only (enforced by import-linter; see
architecture/boundaries.md). One package per bounded context; ``core.shared`` is the
shared kernel every context may use.
"""
