"""Alembic migrations: the only way the schema is created or changed (never ``create_all``)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

HERE = Path(__file__).resolve().parent


def load_models() -> None:
    """Import every package's models so ``Base.metadata`` knows all tables."""
    import approvals.models  # noqa: F401
    import ledger.models  # noqa: F401
    import reports.models  # noqa: F401


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)
