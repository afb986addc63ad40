"""An audience definition: conditions in AND/OR groups, compiled to SQL with bound parameters.

Column names come from `FIELDS` (a whitelist, never from the definition); values travel only as
`?` parameters. The URL form is `encode` / `decode` (base64 of the compact JSON).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

MATCHES = ("all", "any")
MAX_GROUPS = 10
MAX_CONDITIONS = 20
MAX_VALUES = 100
MAX_TEXT = 200
MAX_NAME = 80
MAX_DAYS = 3650


class AudienceError(ValueError):
    """An audience definition that cannot be used (unknown field or operator, bad value, bad name)."""


@dataclass(frozen=True)
class FieldSpec:
    """One field a condition may test: its label, SQL column (whitelisted) and kind."""

    label: str
    column: str
    kind: str  # "choice" (in / not_in), "number" (>= / <=) or "behaviour" (bought / not_bought)


FIELDS = MappingProxyType(
    {
        "rfm_segment": FieldSpec("Segment", "c.rfm_segment", "choice"),
        "state": FieldSpec("State", "c.state", "choice"),
        "age_band": FieldSpec("Age band", "c.age_band", "choice"),
        "gender": FieldSpec("Gender", "c.gender", "choice"),
        "total_spend": FieldSpec("Total spend ($)", "c.total_spend", "number"),
        "order_count": FieldSpec("Orders", "c.order_count", "number"),
        "days_since_last_purchase": FieldSpec(
            "Days since last purchase", "c.days_since_last_purchase", "number"
        ),
        "category": FieldSpec("Bought a category", "t.category", "behaviour"),
        # the rank-1 pick of marts.next_best_category (the Recommendations page's "top pick is X")
        "top_pick": FieldSpec(
            "Top recommended category",
            "(select min(r.category) from marts.next_best_category as r "
            "where r.customer_id = c.customer_id and r.rank = 1)",
            "choice",
        ),
    }
)
OPERATORS = MappingProxyType(
    {
        "choice": MappingProxyType({"in": "is one of", "not_in": "is not one of"}),
        "number": MappingProxyType({">=": "at least", "<=": "at most"}),
        "behaviour": MappingProxyType({"bought": "bought", "not_bought": "did not buy"}),
    }
)


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    """`value` as trimmed text, or AudienceError when that is empty or longer than `limit`."""
    text = str(value).strip()
    if not text or len(text) > limit:
        raise AudienceError(f"{what} must be 1-{limit} characters")
    return text


@dataclass(frozen=True)
class Condition:
    """One test on a customer: `field` `op` `values` / `number`, behaviour within `days` (None = ever)."""

    field: str
    op: str
    values: tuple[str, ...] = ()
    number: float | None = None
    days: int | None = None

    def __post_init__(self) -> None:
        """Reject unknown fields or operators and values of the wrong shape."""
        spec = FIELDS.get(self.field)
        if spec is None:
            raise AudienceError(f"unknown field {self.field!r}")
        if self.op not in OPERATORS[spec.kind]:
            raise AudienceError(f"unknown operator {self.op!r} for {spec.label}")
        if spec.kind == "number":
            if self.number is None or self.number != self.number or self.values or self.days is not None:
                raise AudienceError(f"{spec.label} needs one number")
        elif not 1 <= len(self.values) <= (1 if spec.kind == "behaviour" else MAX_VALUES):
            wanted = "one category" if spec.kind == "behaviour" else "values"
            raise AudienceError(f"{spec.label} needs {wanted}")
        if self.days is not None and (spec.kind != "behaviour" or not 1 <= self.days <= MAX_DAYS):
            raise AudienceError(f"days must be 1-{MAX_DAYS} on a behaviour condition")

    def sql(self, anchor: dt.date | None) -> tuple[str, list[Any]]:
        """The condition as a never-null SQL boolean over `marts.customers as c`, and its parameters."""
        spec = FIELDS[self.field]
        if spec.kind == "choice":
            marks = ", ".join("?" for _ in self.values)
            if self.op == "not_in":  # a customer without the value is not in the list
                return f"coalesce({spec.column} not in ({marks}), true)", list(self.values)
            return f"coalesce({spec.column} in ({marks}), false)", list(self.values)
        if spec.kind == "number":
            return f"coalesce({spec.column} {self.op} ?, false)", [float(self.number or 0.0)]
        where, params = "t.customer_id = c.customer_id and t.category = ?", [self.values[0]]
        if self.days is not None and anchor is not None:
            where += " and t.transaction_date > ?"
            params.append(anchor - dt.timedelta(days=self.days))
        negate = "not " if self.op == "not_bought" else ""
        return f"{negate}exists (select 1 from marts.transactions as t where {where})", params

    def describe(self) -> str:
        """Plain words, e.g. `Segment is one of Champions` or `did not buy Kitchen in the last 90 days`."""
        spec = FIELDS[self.field]
        words = OPERATORS[spec.kind][self.op]
        if spec.kind == "number":
            return f"{spec.label} {words} {self.number:g}"
        if spec.kind == "behaviour":
            within = "ever" if self.days is None else f"in the last {self.days} days"
            return f"{words} {self.values[0]} {within}"
        return f"{spec.label} {words} {', '.join(self.values)}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (only the keys that apply)."""
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.values:
            out["values"] = list(self.values)
        if self.number is not None:
            out["number"] = self.number
        if self.days is not None:
            out["days"] = self.days
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> Condition:
        """Parse the JSON form; raises AudienceError on anything malformed."""
        if not isinstance(raw, dict):
            raise AudienceError("a condition must be an object")
        values = raw.get("values", [])
        if not isinstance(values, list):
            raise AudienceError("values must be a list")
        try:
            number = None if raw.get("number") is None else float(raw["number"])
            days = None if raw.get("days") is None else int(raw["days"])
        except (TypeError, ValueError) as exc:
            raise AudienceError("number and days must be numbers") from exc
        return cls(
            field=str(raw.get("field")),
            op=str(raw.get("op")),
            values=tuple(_text(v, "a value") for v in values),
            number=number,
            days=days,
        )


@dataclass(frozen=True)
class Group:
    """Conditions combined with `match`: "all" (AND) or "any" (OR)."""

    conditions: tuple[Condition, ...] = ()
    match: str = "all"

    def __post_init__(self) -> None:
        """Reject an unknown match or too many conditions."""
        if self.match not in MATCHES or len(self.conditions) > MAX_CONDITIONS:
            raise AudienceError(f"a group matches all or any of at most {MAX_CONDITIONS} conditions")


@dataclass(frozen=True)
class Audience:
    """Groups combined with `match` ("all" = AND, "any" = OR); no condition at all = every customer."""

    groups: tuple[Group, ...] = field(default_factory=tuple)
    match: str = "all"

    def __post_init__(self) -> None:
        """Reject an unknown match or too many groups."""
        if self.match not in MATCHES or len(self.groups) > MAX_GROUPS:
            raise AudienceError(f"an audience matches all or any of at most {MAX_GROUPS} groups")

    def where(self, anchor: dt.date | None) -> tuple[str, list[Any]]:
        """A `where` clause over `marts.customers as c` with `?` placeholders, and its parameters."""
        parts: list[str] = []
        params: list[Any] = []
        for group in self.groups:
            compiled = [condition.sql(anchor) for condition in group.conditions]
            if not compiled:
                continue
            joiner = " and " if group.match == "all" else " or "
            parts.append("(" + joiner.join(f"({sql})" for sql, _ in compiled) + ")")
            for _, values in compiled:
                params.extend(values)
        if not parts:
            return "true", []
        return (" and " if self.match == "all" else " or ").join(parts), params

    def describe(self) -> str:
        """The whole definition in plain words."""
        groups = [
            (" and " if g.match == "all" else " or ").join(c.describe() for c in g.conditions)
            for g in self.groups
            if g.conditions
        ]
        if not groups:
            return "every customer"
        return (" AND " if self.match == "all" else " OR ").join(f"({g})" for g in groups)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "match": self.match,
            "groups": [
                {"match": g.match, "conditions": [c.to_dict() for c in g.conditions]} for g in self.groups
            ],
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Audience:
        """Parse the JSON form; raises AudienceError on anything malformed."""
        if not isinstance(raw, dict) or not isinstance(raw.get("groups", []), list):
            raise AudienceError("an audience must be an object with a list of groups")
        groups = []
        for group in raw.get("groups", []):
            if not isinstance(group, dict) or not isinstance(group.get("conditions", []), list):
                raise AudienceError("a group must be an object with a list of conditions")
            conditions = tuple(Condition.from_dict(c) for c in group.get("conditions", []))
            groups.append(Group(conditions, str(group.get("match", "all"))))
        return cls(tuple(groups), str(raw.get("match", "all")))


def encode(audience: Audience) -> str:
    """The definition as URL-safe base64 of its compact JSON (the `audience_def` query parameter)."""
    text = json.dumps(audience.to_dict(), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode(text: str) -> Audience:
    """Inverse of `encode`; raises AudienceError on anything that is not a valid definition."""
    if len(text) > 8000:
        raise AudienceError("the audience link is too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return Audience.from_dict(json.loads(raw.decode("utf-8")))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AudienceError("the audience link is not a valid definition") from exc


def valid_name(name: str) -> str:
    """The name with runs of white space made one space; AudienceError when empty or too long."""
    return _text(" ".join(str(name).split()), "an audience name", MAX_NAME)
