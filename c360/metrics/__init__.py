"""The semantic-layer client: MetricFlow manifest, query execution, `mf` wrapper."""
