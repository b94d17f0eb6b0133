"""``/finance``: the finance officer's day at the lead agency.

Requests awaiting payment with what was approved, paid and remains; recording a payment against
one (part or final), closing a part-paid request, supplier refunds, grant receipts, GST refunds,
the year-end return to the funder (FIN_MGR only), and suppliers with their second-person
verification. Every page is for the lead agency's FIN or FIN_MGR, scoped to their consortium.
"""

from __future__ import annotations

# The areas register their routes on the blueprint when imported.
from web.pages.finance import funds, queue, refunds, suppliers
from web.pages.finance.blueprint import blueprint

__all__ = ["blueprint", "funds", "queue", "refunds", "suppliers"]
