"""Probes: one async function per check type, each turning a target into observations.

A probe returns a ``ProbeOutcome`` (what it saw: placeholder values for the conditions, the primary value
the thresholds apply to, metrics and evidence), or raises:

* ``TransportError`` when it could not talk to the target (refused, reset, timed out). The engine retries
  with backoff and, if every attempt fails, reports UNKNOWN: the check could not run, which is not the
  same as the target being broken.
* ``ProbeUnavailable`` when retrying cannot help (target not allowed, missing secret, unreadable file).

A probe that *did* talk to the target and got a definite bad answer (a refused TCP port, an expired or
untrusted certificate, a query cancelled by the statement timeout) returns an outcome whose conditions
fail, or sets ``failure``, which makes the result CRITICAL.

Probes never run shell commands, connect only to addresses vetted by ``targets.Resolver``, and never put a
resolved secret into evidence (the engine scrubs them again to be sure).
"""
