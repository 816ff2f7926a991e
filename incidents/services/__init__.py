"""Writes for incidents, one module per concern; callers import the module they need.

lifecycle (filing, status changes, edits), comments, attachments, symptoms (matching the report and
attachments), checks, escalation, notifications (fanning events out), webhooks, reviews, severities
(defaults), idempotency, timeline (and the clock services share). The outbox lives in `incidents.outbox`.
"""
