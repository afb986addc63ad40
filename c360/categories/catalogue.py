"""The category catalogue: read and validate the seed, build it from names, write it back.

A category is a `category_name` exactly as in the raw `category` column (trimmed), a
`category_slug` (lowercase, every run of non-alphanumerics -> `_`, unique; it names the
`<slug>_amount` columns and `<slug>_spend` metrics) and a `sort_order` (display order).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from c360 import config

SEED_PATH = config.DBT_PROJECT_DIR / "seeds" / "product_categories.csv"
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
REQUIRED_COLUMNS = ("category_name", "category_slug", "sort_order")
# Postgres truncates identifiers at 63 bytes; `<slug>_spend_share` must stay below that.
MAX_SLUG_LENGTH = 48


@dataclass(frozen=True)
class Category:
    """One row of the product_categories seed."""

    name: str
    slug: str
    sort_order: int


def read_categories(seed_path: Path = SEED_PATH) -> list[Category]:
    """Read and validate the seed; errors name the file, row and column."""
    with seed_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{seed_path}: missing column(s) {', '.join(missing)}")
        categories = [_seed_row(seed_path, number, row) for number, row in enumerate(reader, start=1)]
    slugs = [c.slug for c in categories]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise ValueError(f"{seed_path}: duplicate category_slug {', '.join(duplicates)}")
    names = [c.name for c in categories]
    duplicate_names = sorted({n for n in names if names.count(n) > 1})
    if duplicate_names:
        raise ValueError(f"{seed_path}: duplicate category_name {', '.join(duplicate_names)}")
    if not categories:
        raise ValueError(f"{seed_path}: no categories")
    return sorted(categories, key=lambda c: (c.sort_order, c.slug))


def _seed_row(seed_path: Path, row_number: int, row: dict[str, str]) -> Category:
    slug = (row["category_slug"] or "").strip()
    name = (row["category_name"] or "").strip()
    if not SLUG_PATTERN.match(slug):
        raise ValueError(
            f"{seed_path}: row {row_number}, column category_slug: {slug!r} is not a snake_case slug"
        )
    if not name:
        raise ValueError(f"{seed_path}: row {row_number}, column category_name: empty")
    try:
        sort_order = int(row["sort_order"])
    except (TypeError, ValueError) as exc:
        value = row["sort_order"]
        raise ValueError(
            f"{seed_path}: row {row_number}, column sort_order: {value!r} is not an integer"
        ) from exc
    return Category(name=name, slug=slug, sort_order=sort_order)


def slugify(name: str, taken: Iterable[str] = ()) -> str:
    """`name` as a slug: lowercase, each run of non-alphanumerics -> `_`, unique among `taken`.

    A slug that would start with a digit gets a `c_` prefix (it starts column names); an
    empty one becomes `category`; a clash gets `_2`, `_3`... appended.
    """
    base = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_") or "category"
    if not base[0].isalpha():
        base = f"c_{base}"
    base = base[:MAX_SLUG_LENGTH].rstrip("_")
    used = set(taken)
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}_{n}", n + 1
    return slug


def catalogue_from_names(names: Iterable[str], current: Sequence[Category] = ()) -> list[Category]:
    """The catalogue of the distinct non-empty `names`.

    Names already in `current` keep their slug and relative order (so re-running on the same
    data changes nothing); new names follow in alphabetical order. Names absent from `names`
    are dropped. sort_order is renumbered 1..n.
    """
    wanted = {n.strip() for n in names if n and n.strip()}
    if not wanted:
        raise ValueError("no category names (no non-empty `category` values)")
    kept = [c for c in sorted(current, key=lambda c: (c.sort_order, c.slug)) if c.name in wanted]
    slugs = [c.slug for c in kept]
    pairs = [(c.name, c.slug) for c in kept]
    for name in sorted(wanted - {c.name for c in kept}):
        slug = slugify(name, slugs)
        slugs.append(slug)
        pairs.append((name, slug))
    return [Category(name=name, slug=slug, sort_order=i) for i, (name, slug) in enumerate(pairs, start=1)]


def names_from_csv(path: Path) -> list[Category] | list[str]:
    """A user's category list: a full seed (category_name, category_slug, sort_order) is
    returned as categories; a file with only a `category_name` or `category` column as names."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        if all(c in fields for c in REQUIRED_COLUMNS):
            handle.close()
            return read_categories(path)
        column = next((c for c in ("category_name", "category") if c in fields), None)
        if column is None:
            raise ValueError(
                f"{path}: needs a `category_name` or `category` column (found {', '.join(fields)})"
            )
        return [row[column] or "" for row in reader]


def names_from_warehouse(env: dict[str, str] | None = None) -> list[str]:
    """The distinct non-empty (trimmed) `category` values of the raw web.transactions on DBT_TARGET."""
    from c360.warehouse import Warehouse, query

    warehouse = Warehouse.from_env(env).require()
    frame = query(
        warehouse,
        "select distinct trim(category) as category from web.transactions "
        "where category is not null and trim(category) <> ''",
    )
    return [str(v) for v in frame["category"]]


def render_seed(categories: Sequence[Category]) -> str:
    """The seed CSV text (header + one row per category, in sort_order)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS)
    for c in sorted(categories, key=lambda c: (c.sort_order, c.slug)):
        writer.writerow([c.name, c.slug, c.sort_order])
    return out.getvalue()
