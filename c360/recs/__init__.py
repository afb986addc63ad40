"""Next-best-category evaluation, oracle ceiling and report."""
