"""The API's marshmallow schemas: what goes in, what comes out, and (through apispec) the
OpenAPI document. One set of schemas serves all three, so the document cannot drift.

``base`` holds the shared fields (money, days, ids), the error shape and cursor pages; the
other modules hold one area's schemas each: ``people`` (tokens, users, organisations),
``requests`` (clients, needs, requests and their decisions and payments), ``ledger``
(accounts, entries, postings, the trial balance) and ``exports`` (export runs).
"""
