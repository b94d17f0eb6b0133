"""The scheduled jobs: what runs unattended, when, and what each last did.

See docs/exports.md#the-scheduler.

``tasks`` holds each job's work and the claim that runs it at most once per key; ``schedule`` is
the one declared job table and what of it is due; ``scheduler`` is the process APScheduler wakes;
``status`` is the admin's view of the latest runs; ``year_close`` is the financial-year close,
a job because only the scheduler runs it, claimed like the others (docs/exports.md#the-year-close).
Top of the layers inside reports (docs/architecture.md#the-packages-and-the-arrows): jobs call the
export runner, which calls the kinds; nothing below imports a job.
"""
