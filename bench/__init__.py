"""`make bench`: how fast every stage is, measured side by side in one run."""
