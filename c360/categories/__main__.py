"""`make categories`: set the category catalogue and regenerate every file derived from it.

    python -m c360.categories                    # from web.transactions on DBT_TARGET
    python -m c360.categories --csv my_list.csv  # from a list you curate (make categories CATEGORIES=...)
    python -m c360.categories --from-seed        # keep the seed, regenerate the derived files
    python -m c360.categories --check            # exit 1 if a derived file is out of date

Writing also deletes dbt's partial_parse.msgpack in every target dir, so the next dbt run
parses the changed columns and metrics from scratch (no `--no-partial-parse` by hand).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from c360 import config
from c360.categories import catalogue, derived


def target_dirs() -> list[Path]:
    """Every dbt target dir of this checkout: DBT_TARGET_PATH, dbt_c360/target, and any under data/."""
    dirs = {config.dbt_target_path(), config.DBT_PROJECT_DIR / "target"}
    data = config.REPO_ROOT / "data"
    if data.is_dir():
        dirs |= {p.parent for p in data.rglob("partial_parse.msgpack")}
    return sorted(dirs)


def drop_partial_parse() -> list[Path]:
    """Delete dbt's partial-parse cache in every target dir; returns the files deleted."""
    removed = []
    for directory in target_dirs():
        cache = directory / "partial_parse.msgpack"
        if cache.is_file():
            cache.unlink()
            removed.append(cache)
    return removed


def stale_files(categories: list[catalogue.Category]) -> list[Path]:
    """The derived files whose text differs from what `categories` give."""
    return [
        path
        for path, text in derived.expected_files(categories).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def new_catalogue(csv_path: Path | None) -> list[catalogue.Category]:
    """The catalogue from the user's CSV, or from the loaded raw transactions."""
    current = catalogue.read_categories() if catalogue.SEED_PATH.is_file() else []
    if csv_path is not None:
        listed = catalogue.names_from_csv(csv_path)
        if listed and isinstance(listed[0], catalogue.Category):
            return list(listed)  # a full seed: taken as it is
        return catalogue.catalogue_from_names([str(n) for n in listed], current)
    return catalogue.catalogue_from_names(catalogue.names_from_warehouse(), current)


def write(categories: list[catalogue.Category]) -> list[Path]:
    """Write the seed and every derived file that changed; returns the files written."""
    written = []
    seed_text = catalogue.render_seed(categories)
    if not catalogue.SEED_PATH.is_file() or catalogue.SEED_PATH.read_text(encoding="utf-8") != seed_text:
        catalogue.SEED_PATH.write_text(seed_text, encoding="utf-8")
        written.append(catalogue.SEED_PATH)
    for path, text in derived.expected_files(categories).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _relative(path: Path) -> str:
    return str(path.relative_to(config.REPO_ROOT)) if path.is_relative_to(config.REPO_ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    """Set or check the catalogue; 0 on success, 1 when out of date (--check) or on an error."""
    parser = argparse.ArgumentParser(prog="python -m c360.categories", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--csv", type=Path, help="a CSV with category_name (or category) [, category_slug, sort_order]"
    )
    source.add_argument(
        "--from-seed", action="store_true", help="keep the seed; regenerate the derived files"
    )
    source.add_argument("--check", action="store_true", help="exit 1 if a derived file is out of date")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_files(catalogue.read_categories())
            for path in stale:
                print(f"{_relative(path)} is out of date with the product_categories seed", file=sys.stderr)
            if stale:
                print("run `make categories` (or `python -m c360.categories --from-seed`)", file=sys.stderr)
                return 1
            print("every file derived from the product_categories seed is in sync")
            return 0
        categories = catalogue.read_categories() if args.from_seed else new_catalogue(args.csv)
        written = write(categories)
        removed = drop_partial_parse()
    except (ValueError, OSError) as exc:
        print(f"categories FAILED: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a warehouse error, reported in one line
        print(f"categories FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(c.name for c in categories[:5]) + (" ..." if len(categories) > 5 else "")
    files = ", ".join(map(_relative, written)) or "nothing (in sync)"
    print(f"{len(categories)} categories ({names}); wrote {files}")
    if removed:
        print(f"removed dbt's partial-parse cache: {', '.join(map(_relative, removed))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
