"""Schemathesis hooks for `make schemathesis` (loaded through SCHEMATHESIS_HOOKS).

The only YAML the API answers with is the organisation export, a YAML *stream* (one document
per Backstage entity, separated by `---`, which the YAML media type allows) that the schema
declares as text. Schemathesis's own YAML reader takes a single document, and its worker thread
died on the stream, silently skipping the operations it had left. Here a YAML body is read as
what the schema says it is: text."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core import media_types


@schemathesis.deserializer(*media_types.YAML_MEDIA_TYPES)
def yaml_as_text(_ctx: Any, response: Any) -> str:
    text: str = response.content.decode(response.encoding or "utf-8")
    return text
