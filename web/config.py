"""Configuration comes from ``FLEXPOOL_*`` environment variables, read once by the app factory."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ledger.db import DEFAULT_DATABASE_URL


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    testing: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(database_url=env.get("FLEXPOOL_DATABASE_URL", DEFAULT_DATABASE_URL))
