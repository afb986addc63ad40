"""Data access, PII masking and UI helpers for the Streamlit pages."""
