"""Readiness: the score per team and organisation from survey answers and ingested signals, the
anonymity rules that decide what may be shown, nightly snapshots with drop alerts, and the
business case in money (docs/readiness.md, docs/anonymity.md, docs/business-case.md)."""
