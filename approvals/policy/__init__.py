"""Approval policy: rules as data, their editable text and plain words, stored versions,
who may decide a step, and delegations (docs/approvals.md#policy).
"""
