"""Who may call each API endpoint (and the personal-token pages), for the central
authorization matrix: a set of demo logins, or ``None`` for any signed-in user.

Everyone may call the "any" endpoints, but they answer in the caller's scope (an SF sees their
NGO's clients, requests and accounts; anything else is a 404). ``api.issue_token`` and
``api.openapi`` need no token at all.
"""

from __future__ import annotations

LEAD_READERS = {
    "admin@lead.demo",
    "pm@lead.demo",
    "fin@lead.demo",
    "finmgr@lead.demo",
    "ceo@lead.demo",
    "auditor@lead.demo",
}
NGO1_STAFF = {"tl@ngo1.demo", "sf@ngo1.demo", "sf2@ngo1.demo"}
EXPORT_RUNNERS = {"fin@lead.demo", "finmgr@lead.demo"}
EXPORT_READERS = EXPORT_RUNNERS | {"auditor@lead.demo"}

ACCESS: dict[str, set[str] | None] = {
    "api.openapi": None,
    "api.issue_token": None,
    "api.list_tokens": None,
    "api.revoke_token": None,  # only one's own token; someone else's is a 404
    "api.me": None,
    "api.consortia": None,
    "api.organisations": None,
    "api.users": {"admin@lead.demo"},
    "api.clients": None,  # scoped list
    "api.client": LEAD_READERS | NGO1_STAFF,  # for an NGO1 client (client_id)
    "api.client_needs": LEAD_READERS | NGO1_STAFF,
    "api.requests": None,  # scoped list
    "api.request": LEAD_READERS | NGO1_STAFF,  # for an NGO1 request (request_id)
    # Any NGO's staff may create requests (for their own clients; the body names the client).
    "api.create_request": NGO1_STAFF
    | {"sf@ngo2.demo", "tl@ngo2.demo", "sf@ngo3.demo", "tl@ngo3.demo"},
    # Actions depend on the request's state and chain; these are who may ever take them on an
    # NGO1 request. The requester (or their TL) submits, responds and withdraws.
    "api.request_submit": NGO1_STAFF,
    "api.request_respond": NGO1_STAFF,
    "api.request_withdraw": NGO1_STAFF,
    "api.request_approve": {"tl@ngo1.demo", "pm@lead.demo", "finmgr@lead.demo", "ceo@lead.demo"},
    "api.request_reject": {"tl@ngo1.demo", "pm@lead.demo", "finmgr@lead.demo", "ceo@lead.demo"},
    "api.request_request_info": {
        "tl@ngo1.demo",
        "pm@lead.demo",
        "finmgr@lead.demo",
        "ceo@lead.demo",
    },
    "api.request_send_back": {
        "tl@ngo1.demo",
        "pm@lead.demo",
        "finmgr@lead.demo",
        "ceo@lead.demo",
    },
    "api.request_cancel": {"pm@lead.demo", "fin@lead.demo"},
    "api.request_pay": {"fin@lead.demo", "finmgr@lead.demo"},
    "api.accounts": None,  # scoped list
    "api.account": LEAD_READERS | NGO1_STAFF,  # for code="org:NGO1"
    "api.account_entries": LEAD_READERS | NGO1_STAFF,
    "api.receive_grant": {"fin@lead.demo", "finmgr@lead.demo"},
    "api.allocate": {"pm@lead.demo"},
    "api.move_funds": {"pm@lead.demo"},
    "api.reverse_transaction": {"finmgr@lead.demo"},
    "api.trial_balance": LEAD_READERS,
    # Finance runs exports; finance and the auditor list and download them (run_id: a finished
    # run of the demo consortium, from access_exports.SAMPLE_VALUES).
    "api.exports": EXPORT_READERS,
    "api.run_export": EXPORT_RUNNERS,
    "api.export_download": EXPORT_READERS,
    "tokens.home": None,
    "tokens.create": None,
    "tokens.revoke": None,  # only one's own token (token_id); someone else's is a 404
}

# URL parameters beyond request_id, client_id, token_id, transaction_id and run_id: none.
# ``code`` is an account code; "org:NGO1" is the sample the matrix above assumes.
SAMPLES: dict[str, str] = {"code": "org:NGO1"}
