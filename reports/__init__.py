"""Row builders and writers that turn ledger and approval queries into files people read."""
