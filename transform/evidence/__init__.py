"""Evidence: ingested delivery events (deploys, incidents, tickets, adoption, first deploys) and
the DORA and KPI readings computed from them (docs/signals.md)."""
