"""Encryption at rest for the secrets the product must read back, such as the Slack webhook URL.

API keys are only ever checked, so they are hashed (argon2). A webhook URL is sent, so it must be decryptable.
It is encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from `cryptography`, which PyJWT already needs).
The key comes from DJANGO_SECRET_KEY by HKDF-SHA256, so there is no second key to keep. DJANGO_SECRET_KEY_FALLBACKS
(Django's SECRET_KEY_FALLBACKS) still decrypt what an earlier secret key encrypted, so the key can be rotated.
A value no key decrypts reads as empty, and a warning says why.
"""

from __future__ import annotations

import base64
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

logger = logging.getLogger(__name__)

# Fernet tokens are URL-safe base64 of a version byte 0x80 and a timestamp: they all start so.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (a format marker, not a secret)
UNREADABLE_HINT = (
    "It was encrypted under another DJANGO_SECRET_KEY: add that key to DJANGO_SECRET_KEY_FALLBACKS, "
    "or save the value again."
)


class UnreadableSecretError(ValueError):
    """No configured secret key decrypts a stored value."""


def _fernet_key(secret_key: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"convosensei stored secrets v1")
    return base64.urlsafe_b64encode(derived.derive(secret_key.encode()))


@lru_cache(maxsize=4)
def _fernet(secret_key: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    # The first key encrypts; every key is tried to decrypt.
    return MultiFernet([Fernet(_fernet_key(key)) for key in (secret_key, *fallbacks)])


def _current() -> MultiFernet:
    return _fernet(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


def encrypt(plaintext: str) -> str:
    """Return `plaintext` encrypted under the current secret key (a new random IV each time)."""
    return _current().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """Return the plaintext of `token`; raise UnreadableSecretError when no configured key decrypts it."""
    try:
        return _current().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise UnreadableSecretError(UNREADABLE_HINT) from exc


class EncryptedTextField(models.TextField):
    """Text stored encrypted (see the module doc); an empty value stays empty, so emptiness can still be queried.

    Only emptiness: the same text encrypts differently each time, so no other lookup can match.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return decrypt(value)
        except UnreadableSecretError:
            where = f"{self.model._meta.db_table}.{self.column}"
            logger.warning("encryption.unreadable", extra={"field": where, "hint": UNREADABLE_HINT})
            return ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
