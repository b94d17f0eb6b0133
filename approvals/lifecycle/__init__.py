"""A fund request's life: its states and the one transition service, the approval
steps, amounts, payments and refunds, timers, attachments, and the records verify re-reads
(docs/approvals.md#lifecycle).
"""
