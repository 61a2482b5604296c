"""The outbox: outgoing messages queued once, claimed by workers, rendered, sent in batches and
retried with backoff, with a recorded failed state (docs/delivery.md)."""
