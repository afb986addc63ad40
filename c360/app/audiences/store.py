"""Named audiences in a JSON file the app owns (`audiences.json` under `config.app_data_dir()`)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from c360 import config
from c360.app.audiences.conditions import Audience, AudienceError, valid_name

STORE_FILE = "audiences.json"


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
