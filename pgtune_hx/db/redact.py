"""Keep passwords out of everything we print, log or save.

Every password the toolkit sees (in a DSN, PGPASSWORD, a generated one of the
embedded server) is registered here; ``redact`` replaces each with ``****`` and
``SecretFilter`` does the same for log records.
"""

from __future__ import annotations

import logging
import os
import re
import threading

from psycopg.conninfo import conninfo_to_dict, make_conninfo

MASK = "****"
_secrets: set[str] = set()
_lock = threading.Lock()

# password=... in conninfo text and user:password@ in URIs, for text we never parsed.
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_URI_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)", re.IGNORECASE)


def register_secret(secret: str | None) -> None:
    """Remember a secret so that ``redact`` hides it wherever it appears."""
    if secret and len(secret) >= 3:
        with _lock:
            _secrets.add(secret)


def register_dsn(dsn: str | None) -> None:
    """Register the password of a DSN and of PGPASSWORD, if any."""
    register_secret(os.environ.get("PGPASSWORD"))
    if not dsn:
        return
    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # unparsable DSN: the regexes in redact() still apply
        return
    password = params.get("password")
    if isinstance(password, str):
        register_secret(password)


def redact(text: str) -> str:
    """Hide registered secrets and any password in conninfo or URI form.

    >>> redact("host=db password=hunter2 dbname=x")
    'host=db password=**** dbname=x'
    >>> redact("postgresql://app:s3cret@db:5432/x")
    'postgresql://app:****@db:5432/x'
    """
    text = _URI_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    text = _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def display_dsn(dsn: str) -> str:
    """A DSN fit to print: parsed, password dropped, rebuilt as conninfo."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:
        return redact(dsn)
    if "password" in params:
        params["password"] = MASK
    return redact(make_conninfo("", **params))


class SecretFilter(logging.Filter):
    """Logging filter that redacts the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
