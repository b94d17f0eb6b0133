"""Consortia, their people and clients, fund requests and the approval chains that release money.

Services here are plain functions: a ``Session``, an explicit actor and ``now`` in; they flush and
never commit (Indico's operations). Final approval reserves funds through ``ledger`` inside the
caller's transaction, so approving and reserving happen together or not at all.
"""
