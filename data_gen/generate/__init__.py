"""The generator of realistic raw files (`python -m data_gen generate`)."""
