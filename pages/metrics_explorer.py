"""Metrics explorer: self-service queries over the MetricFlow semantic layer."""

from __future__ import annotations

import streamlit as st

from c360.app_ui import guarded


def render() -> None:
    """The page body."""
    st.title("Metrics explorer")
    st.info("The semantic-layer client `c360.metrics` is not available yet. Run `make build` once it lands.")


guarded(render)
