"""Configuration comes from ``FLEXPOOL_*`` environment variables, read once by the app factory."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ledger.db import DEFAULT_DATABASE_URL

INSTANCE = Path("instance")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_secret(folder: Path = INSTANCE) -> str:
    """A key generated once per installation and kept beside the database, never a constant."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(key)
    temporary.chmod(0o600)
    try:
        os.link(temporary, path)  # first writer wins when two workers start at once
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text().strip()


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    testing: bool = False
    secure_cookies: bool = True
    login_limit: str = "10 per minute;50 per hour"
    # An NGO office signs in from one address: its limit is for a flood, not for one person.
    login_address_limit: str = "50 per minute;250 per hour"
    attachments_dir: str = str(INSTANCE / "attachments")
    exports_dir: str = str(INSTANCE / "exports")
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "flexpool@localhost"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("FLEXPOOL_DATABASE_URL", DEFAULT_DATABASE_URL),
            secret_key=env.get("FLEXPOOL_SECRET_KEY") or instance_secret(),
            secure_cookies=_flag(env.get("FLEXPOOL_SECURE_COOKIES"), True),
            login_limit=env.get("FLEXPOOL_LOGIN_LIMIT", cls.login_limit),
            login_address_limit=env.get("FLEXPOOL_LOGIN_ADDRESS_LIMIT", cls.login_address_limit),
            attachments_dir=env.get("FLEXPOOL_ATTACHMENTS_DIR", cls.attachments_dir),
            exports_dir=env.get("FLEXPOOL_EXPORTS_DIR", cls.exports_dir),
            smtp_host=env.get("FLEXPOOL_SMTP_HOST") or None,
            smtp_port=int(env.get("FLEXPOOL_SMTP_PORT", "25")),
            mail_from=env.get("FLEXPOOL_MAIL_FROM", cls.mail_from),
            log_level=env.get("FLEXPOOL_LOG_LEVEL", "INFO"),
        )
