"""Key checks: a pseudonym or date-shift key must be generated, long, and not a copy.

A key protects an HMAC that anyone holding one (pseudonym, guessable study id) pair can
attack offline, so its strength is what a generator gives it, not what it looks like. A key
is accepted in one of the forms generators write:

- **hex**, at least 64 characters (32 bytes): ``secrets.token_hex(32)``, ``openssl rand -hex 32``;
- **base64** (standard or URL-safe), decoding to at least 32 bytes:
  ``secrets.token_urlsafe(32)``, ``openssl rand -base64 32``;
- **binary**, at least 32 bytes that are not text: a key file from ``/dev/urandom``.

Text of any other shape (words, a passphrase, a UUID) is refused, and so is a key of the
right shape that is not random: the digest of the empty string or of a common word (the
words of zxcvbn's dictionaries, e.g. ``sha256("password")``), a time-based UUID, repeats,
sequences and words that zxcvbn estimates below 10^20 guesses. A date-shift key must not be
the pseudonym key, nor a near copy of it (case, spaces, one character changed). No message
quotes a key.

>>> key_material(b"00ff" * 16).form, len(key_material(b"00ff" * 16).data)
('hex', 32)
>>> check_key(b"correct horse battery staple", "test")
Traceback (most recent call last):
...
synthema.errors.AnonymizationError: the pseudonym key from test is 28 bytes of text ...
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import hashlib
import itertools
import re
from dataclasses import dataclass

import numpy as np
import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from synthema.errors import AnonymizationError

#: random bytes a key must hold at least (256 bits)
MIN_KEY_BYTES = 32
#: least number of guesses zxcvbn must estimate for a key (10^20, about 66 bits): catches
#: repeats, sequences and keyboard runs written in hex or base64
MIN_KEY_GUESSES_LOG10 = 20.0
#: a date-shift key sharing a run of this many characters with the pseudonym key (after
#: stripping and case-folding) is a copy of it; two random 64-hex keys share about 4
MAX_SHARED_RUN = 12
#: how to make a good key, for the errors' fix lines
MAKE_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"
MAKE_KEY_FILE = ("python -c 'import secrets, sys; sys.stdout.buffer.write(secrets.token_bytes(32))'"
                 " > FILE")
HOW = f"make a random key: {MAKE_KEY} (or a key file of 32 random bytes: {MAKE_KEY_FILE})"

_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-([0-9a-fA-F])[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUIDS = re.compile(rf"{_UUID}([\s,;:]*{_UUID})*")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}")
#: words a site may hash to make a key, besides zxcvbn's dictionaries
_PROJECT_WORDS = ("", "synthema", "secret", "key", "password", "pseudonym", "salt", "aml", "scd",
                  "test", "demo", "changeme", "admin", "registry", "hospital", "date-shift")
#: digests a key may be the hex/base64/raw form of, by name (a key is checked against each)
_DIGESTS = ("sha256", "sha512")
#: shares of a base64 key that zxcvbn may match as words, names, dates, repeats or keyboard
#: runs (random base64: below 0.2 in thousands of draws; a passphrase: 0.3 and more)
_MAX_PATTERN_SHARE = 0.3
#: bytes a key's end must repeat of its start to count as a repeat when the block is longer
#: than half the key (random bytes repeat 8 bytes with probability 2^-64)
_MIN_REPEAT = 8


@dataclass(frozen=True)
class KeyMaterial:
    """What a key holds: its form and the bytes the form encodes."""

    form: str  # hex | base64 | uuid | binary | text
    data: bytes
    text: str  # the key as text ('' for binary keys)


def _as_text(key: bytes) -> str | None:
    """The key as printable text, or None for a binary key."""
    try:
        text = key.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return text if text and text.isprintable() else None


def key_material(key: bytes) -> KeyMaterial:
    """The form of ``key`` (hex, base64, uuid, binary or other text) and its bytes.

    >>> key_material(b"0f" * 40).form, key_material(b"\\x00\\xff" * 20).form
    ('hex', 'binary')
    >>> key_material(b"correct horse battery staple").form
    'text'
    """
    text = _as_text(key)
    if text is None:
        return KeyMaterial("binary", key, "")
    if _HEX.fullmatch(text) and len(text) % 2 == 0:
        return KeyMaterial("hex", bytes.fromhex(text), text)
    if _UUIDS.fullmatch(text):
        return KeyMaterial("uuid", bytes.fromhex(re.sub(r"[^0-9a-fA-F]", "", text)), text)
    # base64 from a generator mixes upper and lower case (43 random characters without an
    # upper-case letter: about 2e-10); a lower-case phrase with dashes is text
    if _BASE64.fullmatch(text) and re.search("[A-Z]", text) and re.search("[a-z]", text):
        bare = text.rstrip("=")
        padded = bare + "=" * (-len(bare) % 4)
        try:
            if "-" in text or "_" in text:
                data = base64.urlsafe_b64decode(padded)
            else:
                data = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            return KeyMaterial("text", key, text)
        return KeyMaterial("base64", data, text)
    return KeyMaterial("text", key, text)


@functools.lru_cache(maxsize=len(_DIGESTS))
def _word_digests(algorithm: str) -> np.ndarray:
    """First 8 bytes of the digests of common words (sorted, as unsigned 64-bit integers).

    The words are zxcvbn's dictionaries (passwords, English words, names) and a few of the
    project's, each as written, capitalised, and with the newline ``echo word | sha256sum``
    adds. Built once per process (well under a second per algorithm).
    """
    words = {w for lst in FREQUENCY_LISTS.values() for w in lst} | set(_PROJECT_WORDS)
    variants = {v for w in words for v in (w, w.capitalize(), w + "\n")}
    prefixes = np.fromiter(
        (int.from_bytes(hashlib.new(algorithm, v.encode("utf-8")).digest()[:8], "big")
         for v in variants), dtype=np.uint64, count=len(variants))
    return np.sort(prefixes)


def is_word_digest(data: bytes) -> str | None:
    """The digest name when ``data`` starts with the digest of a common word, else None.

    >>> is_word_digest(hashlib.sha256(b"").digest()), is_word_digest(bytes(range(32)))
    ('sha256', None)
    """
    if len(data) < 8:
        return None
    prefix = np.uint64(int.from_bytes(data[:8], "big"))
    for algorithm in _DIGESTS:
        table = _word_digests(algorithm)
        i = int(np.searchsorted(table, prefix))
        if i < len(table) and table[i] == prefix:
            return algorithm
    return None


def _period(data: bytes) -> int:
    """The shortest ``p`` with ``data[i] == data[i + p]`` everywhere (``len(data)``: none).

    Only a ``p`` whose repeat covers half of ``data`` or :data:`_MIN_REPEAT` bytes counts: a
    short key repeated up to a length (20 bytes and their first 12) is found, while a shorter
    overlap is what random bytes have by chance (1 byte: one key in 256).

    >>> _period(b"abcabcab"), _period(b"abcd"), _period(bytes(range(20)) + bytes(range(12)))
    (3, 4, 20)
    """
    for p in range(1, max(len(data) // 2, len(data) - _MIN_REPEAT) + 1):
        if data[p:] == data[:-p]:
            return p
    return len(data)


def _encoded_text(data: bytes) -> bool:
    """Whether decoded key bytes are printable text (a passphrase written as hex or base64).

    32 random bytes are all printable ASCII with probability (95/256)^32, about 2e-14.

    >>> _encoded_text(b"UniklinikumFreiburg2026!"), _encoded_text(bytes(range(200, 232)))
    (True, False)
    """
    return _as_text(data) is not None


def _counts_up(data: bytes) -> int | None:
    """The width in bytes of the numbers ``data`` counts through in equal steps, else None.

    A counter (``000102...1f``, ``0001 0002 ...``, a timestamp plus a step) holds a few
    guessable numbers, not 32 random bytes; for random data, equal steps between the 8-,
    16-, 32- or 64-bit words of 32 bytes happen with probability 2^-128 at most.

    >>> _counts_up(bytes(range(32))), _counts_up(b"".join(i.to_bytes(2, "big") for i in range(16)))
    (1, 2)
    """
    for width in (1, 2, 4, 8):
        words = len(data) // width
        if words < 4:
            continue
        for order in ("big", "little"):
            nums = [int.from_bytes(data[i * width:(i + 1) * width], order) for i in range(words)]
            steps = {(b - a) % (1 << (8 * width)) for a, b in itertools.pairwise(nums)}
            if len(steps) == 1:
                return width
    return None


def _uuid1_blocks(data: bytes) -> bool:
    """Whether ``data`` is two or more time-based UUIDs of one machine written as hex.

    Each 16-byte block has version 1, the RFC 4122 variant and the same node (network
    address); for random bytes that is below 2^-60.
    """
    blocks = [data[i:i + 16] for i in range(0, len(data) - len(data) % 16, 16)]
    return len(blocks) >= 2 and len({b[10:] for b in blocks}) == 1 and all(
        b[6] >> 4 == 1 and b[8] & 0xC0 == 0x80 for b in blocks)


def _pattern_share(text: str) -> tuple[float, float]:
    """zxcvbn on the first 72 characters: (log10 guesses, share matched by patterns >= 4)."""
    head = text[:72]
    result = zxcvbn.zxcvbn(head)
    matched = sum(len(m["token"]) for m in result["sequence"]
                  if m["pattern"] != "bruteforce" and len(m["token"]) >= 4)
    return float(result["guesses_log10"]), matched / max(len(head), 1)


def check_key(key: bytes, where: str, what: str = "pseudonym key") -> bytes:
    """Refuse a key that is not 32 generated bytes: ``key`` itself, when it passes.

    Raises:
        AnonymizationError: naming the key's origin (``where``) and what is wrong, with a
            fix that says how to make a good key; the key is never quoted.

    >>> check_key(hashlib.sha256(b"").hexdigest().encode(), "test")
    Traceback (most recent call last):
    ...
    synthema.errors.AnonymizationError: the pseudonym key from test is the sha256 ...
    """
    name = f"the {what} from {where}"
    material = key_material(key)
    if material.form == "text":
        raise AnonymizationError(
            f"{name} is {len(key)} bytes of text (words or a passphrase?), not a generated "
            "key: accepted are hex (64+ characters), base64 (32+ bytes) or a binary key file",
            fix=HOW)
    if material.form == "uuid":
        versions = {m[1] for m in re.finditer(_UUID, material.text)}
        kind = ("time-based UUID (version 1: its time and the machine's network address are "
                "guessable)" if "1" in versions else "UUID (16 bytes, 122 random bits)")
        raise AnonymizationError(f"{name} is a {kind}, not a generated key", fix=HOW)
    if len(material.data) < MIN_KEY_BYTES:
        unit = {"hex": "hex characters", "base64": "base64 characters"}.get(material.form)
        size = f" ({len(material.text)} {unit})" if unit else ""
        raise AnonymizationError(
            f"{name} holds {len(material.data)} bytes{size}: at least {MIN_KEY_BYTES} random "
            "bytes are needed", fix=HOW)
    period = _period(material.data)
    if period < MIN_KEY_BYTES:
        raise AnonymizationError(
            f"{name} repeats a block of {period} bytes: it holds {period} random bytes at most, "
            f"and at least {MIN_KEY_BYTES} are needed", fix=HOW)
    digest = is_word_digest(material.data)
    if digest:
        raise AnonymizationError(
            f"{name} is the {digest} digest of the empty string or of a common word: anyone "
            "can compute it", fix=HOW)
    if material.form in ("hex", "base64") and _encoded_text(material.data):
        raise AnonymizationError(
            f"{name} is {len(material.data)} bytes of text (words or a passphrase?) written as "
            f"{material.form}, not a generated key", fix=HOW)
    width = _counts_up(material.data)
    if width:
        raise AnonymizationError(
            f"{name} counts through {8 * width}-bit numbers in equal steps (a counter or a "
            "sequence), not random bytes", fix=HOW)
    if _uuid1_blocks(material.data):
        raise AnonymizationError(
            f"{name} is time-based UUIDs (version 1: their time and the machine's network "
            "address are guessable) written as hex, not a generated key", fix=HOW)
    guesses, share = _pattern_share(material.text or material.data.decode("latin-1"))
    if guesses < MIN_KEY_GUESSES_LOG10 or (material.form == "base64"
                                           and share > _MAX_PATTERN_SHARE):
        raise AnonymizationError(
            f"{name} is guessable (about 10^{min(guesses, 99):.0f} guesses; "
            f"{share:.0%} of it words, names, dates, repeats, sequences or keyboard runs)",
            fix=HOW)
    return key


def _forms(key: bytes) -> list[str]:
    """A key's comparable forms: its text stripped and case-folded, and its bytes in hex."""
    material = key_material(key)
    return [f for f in (material.text.casefold(), material.data.hex()) if f]


def shared_run(a: bytes, b: bytes) -> int:
    """The longest run of characters two keys share, over their text and hex forms.

    >>> shared_run(b"ab" * 32, b"AB" * 32 + b" ")
    64
    """
    best = 0
    for x in _forms(a):
        for y in _forms(b):
            match = difflib.SequenceMatcher(None, x, y, autojunk=False).find_longest_match(
                0, len(x), 0, len(y))
            best = max(best, match.size)
    return best


def check_separate_keys(date_key: bytes, pseudonym_key: bytes, where: str) -> None:
    """Refuse a date-shift key that is the pseudonym key or a near copy of it.

    Every site of a consortium holds the pseudonym key; a date-shift key equal to it, or
    differing by case, spaces or a character, gives every site the shifts.

    Raises:
        AnonymizationError: the keys share a run of :data:`MAX_SHARED_RUN` characters.
    """
    if shared_run(date_key, pseudonym_key) >= MAX_SHARED_RUN:
        raise AnonymizationError(
            f"the date-shift key from {where} is the pseudonym key or a near copy of it "
            f"(they share a run of {MAX_SHARED_RUN} or more characters after stripping and "
            "case-folding)",
            fix=f"make a separate date-shift key: {MAKE_KEY}; the pseudonym key is shared "
                "with other sites, the date-shift key must not be")
