"""The loader of raw files into the warehouse (`python -m data_gen load`)."""
