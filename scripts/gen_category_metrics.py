"""Regenerate the files derived from the product_categories seed (alias of `make categories --from-seed`).

The logic lives in c360/categories; this script keeps `make gen-metrics` and old commands working:

    .venv/bin/python scripts/gen_category_metrics.py          # write the derived files from the seed
    .venv/bin/python scripts/gen_category_metrics.py --check  # exit 1 if one is out of date
    .venv/bin/python scripts/gen_category_metrics.py --seed s.csv --output m.yml  # metrics YAML only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from c360.categories.__main__ import main as categories_main  # noqa: E402
from c360.categories.catalogue import SEED_PATH, Category, read_categories  # noqa: E402
from c360.categories.derived import METRICS_PATH, render_metrics  # noqa: E402

__all__ = ["Category", "main", "read_categories", "render"]


def render(categories: list[Category]) -> str:
    """The YAML text of the per-category spend and share metrics."""
    return render_metrics(categories)


def main(argv: list[str] | None = None) -> int:
    """Without --seed/--output: `python -m c360.categories --from-seed` (or `--check`).
    With them: write (or --check) only the metrics YAML of that seed at that path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a derived file differs from the seed")
    parser.add_argument("--seed", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.seed is None and args.output is None:
        return categories_main(["--check"] if args.check else ["--from-seed"])
    output = args.output or METRICS_PATH
    expected = render(read_categories(args.seed or SEED_PATH))
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != expected:
            print(f"{output} is out of date; run `make categories`", file=sys.stderr)
            return 1
        return 0
    output.write_text(expected, encoding="utf-8")
    print(f"wrote {output} ({expected.count('_spend_share')} metrics)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
