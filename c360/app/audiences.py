"""Audiences: conditions on profile fields, segment, spend, recency and behaviour in AND/OR groups.

An `Audience` is a tuple of `Group`s combined with `match` ("all" = AND, "any" = OR); a group is a
tuple of `Condition`s combined the same way. Every condition compiles to SQL over
`marts.customers as c` whose column names come from `FIELDS` (a whitelist, never from the
definition) and whose values travel only as bound `?` parameters. "Within N days" counts back
from the data's latest transaction date (as the Overview does), not from today.

Named audiences are kept in a JSON file the app owns (`audiences.json` under
`c360.config.app_data_dir()`), never in the dbt schemas; a definition also round-trips through
the URL (`encode` / `decode`). The export carries the salted partner key
(`sha256(share salt || customer_id)`, as `make share`) and, for activation, the SHA-256 of the
trimmed, lower-cased email; raw ids and PII only when `C360_SHOW_PII=1`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import streamlit as st

from c360 import config
from c360.app.data import filter_options, transaction_date_range
from c360.share.salt import SaltError, fingerprint, partner_key, required_salt
from c360.warehouse import Warehouse, WarehouseError, query

TTL_SECONDS = 60
STORE_FILE = "audiences.json"
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


# --------------------------------------------------------------------------- the store
@dataclass(frozen=True)
class AudienceStore:
    """Named audiences in one JSON file (`{"audiences": {name: definition}}`), written atomically."""

    path: Path

    @classmethod
    def default(cls) -> AudienceStore:
        """The app's store: `audiences.json` under `c360.config.app_data_dir()`."""
        return cls(config.app_data_dir() / STORE_FILE)

    def load(self) -> dict[str, Audience]:
        """Every saved audience by name (an unreadable file raises AudienceError saying which)."""
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {valid_name(n): Audience.from_dict(d) for n, d in raw.get("audiences", {}).items()}
        except (OSError, json.JSONDecodeError, AttributeError, AudienceError) as exc:
            raise AudienceError(f"the audience store {self.path} is unreadable: {exc}") from exc

    def _write(self, audiences: dict[str, Audience]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"audiences": {n: a.to_dict() for n, a in sorted(audiences.items())}}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".audiences.", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=2)
        os.replace(tmp, self.path)

    def save(self, name: str, audience: Audience) -> str:
        """Save (or overwrite) `name`; returns the stored (trimmed) name."""
        name = valid_name(name)
        audiences = self.load()
        audiences[name] = audience
        self._write(audiences)
        return name

    def delete(self, name: str) -> None:
        """Remove `name` if present."""
        audiences = self.load()
        if audiences.pop(name, None) is not None:
            self._write(audiences)


# --------------------------------------------------------------------------- queries
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def latest_date(wh: Warehouse) -> dt.date | None:
    """The data's latest transaction date: "within N days" counts back from it (None when empty)."""
    span = transaction_date_range(wh)
    return None if span is None else span[1]


def choice_options(wh: Warehouse) -> dict[str, list[str]]:
    """The values offered per choice field, and the categories of behaviour conditions."""
    base = filter_options(wh)
    genders = query(
        wh, "select distinct gender from marts.customers where gender is not null order by gender"
    )
    return {
        "rfm_segment": base["segments"],
        "state": base["states"],
        "age_band": base["age_bands"],
        "gender": [str(v) for v in genders["gender"]],
        "category": base["categories"],
    }


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def audience_size(wh: Warehouse, audience: Audience) -> dict[str, float]:
    """How many customers match, and their total spend."""
    where, params = audience.where(latest_date(wh))
    frame = query(
        wh,
        f"select count(*) as customers, coalesce(sum(c.total_spend), 0) as spend "
        f"from marts.customers as c where {where}",
        params,
    )
    return {"customers": int(frame["customers"].iloc[0]), "spend": float(frame["spend"].iloc[0])}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def audience_overlap(wh: Warehouse, first: Audience, second: Audience) -> dict[str, int]:
    """Customers in both audiences, only in the first, only in the second."""
    anchor = latest_date(wh)
    a, a_params = first.where(anchor)
    b, b_params = second.where(anchor)
    frame = query(
        wh,
        f"""
        select
            count(*) filter (where ({a}) and ({b})) as both_audiences,
            count(*) filter (where ({a}) and not ({b})) as only_first,
            count(*) filter (where ({b}) and not ({a})) as only_second
        from marts.customers as c
        """,
        [*a_params, *b_params, *a_params, *b_params, *b_params, *a_params],
    )
    row = frame.iloc[0]
    return {
        "both": int(row["both_audiences"]),
        "first": int(row["only_first"]),
        "second": int(row["only_second"]),
    }


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def audience_members(wh: Warehouse, audience: Audience) -> pd.DataFrame:
    """The matching customers, ordered by customer id (with their email, for hashing on export)."""
    where, params = audience.where(latest_date(wh))
    return query(
        wh,
        f"""
        select c.customer_id, c.full_name, c.email, c.rfm_segment, c.age_band, c.gender, c.state,
            c.order_count, c.total_spend, c.days_since_last_purchase
        from marts.customers as c
        where {where}
        order by c.customer_id
        """,
        params,
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def memberships(wh: Warehouse, customer_id: str, audiences: tuple[tuple[str, Audience], ...]) -> list[str]:
    """The names of the (name, audience) pairs whose audience holds `customer_id`, in the given order."""
    if not audiences:
        return []
    anchor = latest_date(wh)
    columns, params = [], []
    for i, (_, audience) in enumerate(audiences):
        where, values = audience.where(anchor)
        columns.append(f"count(*) filter (where {where}) as a{i}")
        params.extend(values)
    frame = query(
        wh,
        f"select {', '.join(columns)} from marts.customers as c where c.customer_id = ?",
        [*params, customer_id],
    )
    return [name for i, (name, _) in enumerate(audiences) if int(frame[f"a{i}"].iloc[0]) > 0]


# --------------------------------------------------------------------------- export
def sha256_text(text: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def email_hash(email: Any) -> str:
    """SHA-256 of the normalised email (trimmed, lower-cased), as customer-match uploads expect; or ""."""
    if email is None or (isinstance(email, float) and email != email) or not str(email).strip():
        return ""
    return sha256_text(str(email).strip().lower())


def export_frame(members: pd.DataFrame, reveal: bool, salt: str) -> pd.DataFrame:
    """The activation file: `partner_key` = sha256(salt || customer_id), `email_sha256`, attributes.

    Raw `customer_id`, `full_name` and `email` stay only when `reveal` (C360_SHOW_PII=1).
    """
    out = members.copy()
    out.insert(0, "email_sha256", out["email"].map(email_hash))
    out.insert(0, "partner_key", out["customer_id"].map(lambda cid: partner_key(salt, cid)))
    if not reveal:
        out = out.drop(columns=["customer_id", "full_name", "email"])
    return out


def _error_csv(exc: Exception) -> bytes:
    return pd.DataFrame({"error": [str(exc)]}).to_csv(index=False).encode("utf-8")


def audience_csv(wh: Warehouse, audience: Audience, reveal: bool) -> bytes:
    """The audience CSV (`export_frame`).

    Runs when the download button is clicked, outside the page guard, so a data problem becomes
    a one-line CSV saying what went wrong instead of an exception.
    """
    try:
        salt = required_salt().value
        members = audience_members(wh, audience)
    except (WarehouseError, SaltError) as exc:
        return _error_csv(exc)
    return export_frame(members, reveal, salt).to_csv(index=False).encode("utf-8")


def audience_definition(wh: Warehouse, name: str, audience: Audience, reveal: bool) -> bytes:
    """The export's sidecar JSON: name, definition (also in words), rows, anchor date, salt fingerprint."""
    try:
        salt = required_salt().value
        rows = audience_size(wh, audience)["customers"]
        anchor = latest_date(wh)
    except (WarehouseError, SaltError) as exc:
        return json.dumps({"error": str(exc)}).encode("utf-8")
    sidecar = {
        "audience": name,
        "definition": audience.to_dict(),
        "described": audience.describe(),
        "rows": rows,
        "anchor_date": None if anchor is None else anchor.isoformat(),
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "salt_fingerprint": fingerprint(salt),
        "columns": {
            "partner_key": "lower-case hex sha256 of the UTF-8 text salt || customer_id (as make share)",
            "email_sha256": "lower-case hex sha256 of the trimmed, lower-cased email; empty without one",
        },
        "pii": "raw ids, names and emails included (C360_SHOW_PII=1)" if reveal else "no raw ids or PII",
    }
    return json.dumps(sidecar, indent=2).encode("utf-8")
