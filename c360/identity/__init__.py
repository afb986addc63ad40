"""Identity resolution: one person per cluster of contact records (docs/identity.md).

Modules: `normalise` (the matching input from raw contacts), `rules` (deterministic
same-normalised-email pairs), `model` (the Splink model on DuckDB: blocking, comparisons, EM),
`clusters` (connected components, the person key), `scoring` (precision/recall against a
generator manifest), `step` (the `make build` step: read the warehouse, write `identity.*`).
"""
