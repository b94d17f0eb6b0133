"""The finance area's one blueprint; each area module registers its routes on it when imported.

A module of its own so that the areas import it without importing their own package (which
imports them): ``tests/test_import_cycles.py`` keeps web/ free of such cycles.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("finance", __name__, url_prefix="/finance")
