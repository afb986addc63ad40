"""Raw data for Customer 360: a synthetic generator and the raw-layer loader.

`python -m data_gen generate ...` writes raw files; `python -m data_gen load ...` loads
them (or the user's own files) into `salesforce.contacts` and `web.transactions`.
"""
