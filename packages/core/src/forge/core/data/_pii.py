"""A PII scrubber for text: e-mail addresses, phone numbers, IP addresses and card-like numbers.

Each match is replaced by a typed placeholder (``<EMAIL>``, ``<PHONE>``, ``<IP>``, ``<CARD>``) so the
text keeps its shape for a model while the personal data never reaches it, nor a log.

What counts as a match (decisions, tested in ``tests/data/test_pii.py``):

* **E-mail**: ``local@domain.tld`` with ``+`` tags, dots, ``%``/``_``/``-`` and inner apostrophes
  (``o'brien``) in the local part, any
  number of subdomains and an alphabetic TLD of two or more letters (``a.b+tag@mail.eu.example.org``).
* **IP**: IPv4 dotted quads with octets 0-255 and no leading zeros, not glued to a letter, digit or
  dot on either side; a port (``10.0.0.1:8080``) stays, the address goes. IPv6 in full, compressed
  (``fe80::1``) or IPv4-mapped form, validated by :mod:`ipaddress` and holding at least one decimal
  digit (so the C++ scopes ``a::b`` and ``dead::beef`` stay). **Version strings**: a bare
  dotted quad such as ``1.2.3.4`` *is* scrubbed, because it cannot be told apart from an address
  and a leaked address costs more than a lost version number; ``v1.2.3.4`` (glued to a letter)
  and ``1.2.3.4.5`` (five parts) are not addresses and stay. ``999.1.1.1`` is no IPv4 and stays.
* **Card**: 13 to 19 digits, contiguous or grouped as cards print them (4-4-4-4[-3], 4-6-5, 4-6-4),
  with spaces or dashes, that pass the Luhn check. Digit runs that fail Luhn are left alone.
* **Phone**: international numbers with a leading ``+`` and 8 to 15 digits in any grouping of
  spaces, dots, dashes and parentheses; North American numbers written with separators
  (``555-123-4567``, ``(555) 123-4567``, ``1 555.123.4567``); national numbers starting with 0 in
  groups (``020 7946 0958``, ``01 23 45 67 89``, 9 to 12 digits). A bare run of digits without
  separators or ``+`` is *not* a phone (it is as likely an order or ticket id), and dates like
  ``2024-01-15`` or ``01-02-2024`` are not phones.

When matches overlap, the earlier kind in (email, ip, card, phone) wins. Scrubbing is exact and
reversible given the matches: :func:`restore` rebuilds the original text from a :class:`ScrubResult`.

Light: no torch.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import attrs

from forge.core.data._compose import Transform
from forge.core.data._configs import PIIScrubConfig
from forge.core.errors import ConfigError, DataError

__all__ = [
    "KINDS",
    "PLACEHOLDERS",
    "PIIMatch",
    "PIIScrubber",
    "ScrubResult",
    "find_pii",
    "luhn_valid",
    "restore",
    "scrub",
    "scrub_with_matches",
]

#: Kinds in priority order (an earlier kind wins an overlap).
KINDS: tuple[str, ...] = ("email", "ip", "card", "phone")
PLACEHOLDERS: dict[str, str] = {"email": "<EMAIL>", "ip": "<IP>", "card": "<CARD>", "phone": "<PHONE>"}

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9_%+.\-@])"
    r"[A-Za-z0-9_%+\-]+(?:[.'][A-Za-z0-9_%+\-]+)*"
    r"@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"(?![A-Za-z0-9_%+\-@]|\.[A-Za-z0-9])"
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\w|\.\w)")
_IPV6 = re.compile(
    r"(?<![\w:.])"
    r"(?:[0-9A-Fa-f]{0,4}:){2,7}"
    rf"(?:(?:{_OCTET}\.){{3}}{_OCTET}|[0-9A-Fa-f]{{0,4}})"
    r"(?![\w:]|\.\w)"
)
_CARD = re.compile(
    r"(?<![\w.\-])"
    r"(?:[0-9]{13,19}"
    r"|[0-9]{4}(?P<s>[ \-])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4}(?:(?P=s)[0-9]{1,3})?"
    r"|[0-9]{4}(?P<t>[ \-])[0-9]{6}(?P=t)[0-9]{4,5})"
    r"(?![\w]|[.\-][0-9])"
)
_PHONE = re.compile(
    r"(?<![\w+.\-(])"
    r"(?:"
    # international: + country code then groups
    r"\+[0-9]{1,3}(?:[ .\-]?\(?[0-9]{1,4}\)?){2,6}"
    # North American with separators
    r"|(?:1[ .\-]?)?(?:\([0-9]{3}\)[ .\-]?|[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4}"
    # national trunk prefix 0, grouped
    r"|0[0-9]{1,4}(?:[ .\-][0-9]{2,4}){2,4}"
    r")"
    r"(?![\w]|[.\-][0-9])"
)


@attrs.frozen
class PIIMatch:
    """One piece of personal data found in a text.

    Attributes:
        kind: ``"email"``, ``"ip"``, ``"card"`` or ``"phone"``.
        start: Start offset in the original text.
        end: End offset (exclusive) in the original text.
        value: The matched original text.
    """

    kind: str
    start: int
    end: int
    value: str

    @property
    def placeholder(self) -> str:
        """The typed placeholder that replaces this match."""
        return PLACEHOLDERS[self.kind]


@attrs.frozen
class ScrubResult:
    """A scrubbed text with the matches it replaced (offsets refer to the original text)."""

    text: str
    matches: tuple[PIIMatch, ...]


def luhn_valid(digits: str) -> bool:
    """Return whether a string of ASCII digits passes the Luhn checksum (card numbers do)."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _valid_ipv6(candidate: str) -> str | None:
    """Return the longest valid IPv6 prefix form of ``candidate`` (a trailing lone ':' is prose)."""
    for text in (candidate, candidate[:-1] if candidate.endswith(":") and not candidate.endswith("::") else None):
        # Requiring a decimal digit keeps C++ scopes like ``a::b`` or ``dead::beef`` out.
        if text is None or not any(c.isdigit() for c in text):
            continue
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            continue
        return text
    return None


def _candidates(text: str, kinds: Iterable[str]) -> list[PIIMatch]:
    found: list[PIIMatch] = []
    wanted = set(kinds)
    if "email" in wanted:
        found.extend(PIIMatch("email", m.start(), m.end(), m.group()) for m in _EMAIL.finditer(text))
    if "ip" in wanted:
        found.extend(PIIMatch("ip", m.start(), m.end(), m.group()) for m in _IPV4.finditer(text))
        for m in _IPV6.finditer(text):
            valid = _valid_ipv6(m.group())
            if valid is not None:
                found.append(PIIMatch("ip", m.start(), m.start() + len(valid), valid))
    if "card" in wanted:
        for m in _CARD.finditer(text):
            digits = re.sub(r"[ \-]", "", m.group())
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                found.append(PIIMatch("card", m.start(), m.end(), m.group()))
    if "phone" in wanted:
        for m in _PHONE.finditer(text):
            value = m.group()
            n_digits = sum(c.isdigit() for c in value)
            if value.startswith("+"):
                ok = 8 <= n_digits <= 15
            elif value.startswith("0") and not value.startswith("0 ") and "(" not in value:
                ok = 9 <= n_digits <= 12
            else:
                ok = n_digits in (10, 11)
            if ok and value.count("(") == value.count(")"):
                found.append(PIIMatch("phone", m.start(), m.end(), value))
    return found


def _check_kinds(kinds: Sequence[str]) -> None:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ConfigError(f"unknown PII kind(s) {unknown}; known kinds are {list(KINDS)}")


def find_pii(text: str, kinds: Sequence[str] = KINDS) -> list[PIIMatch]:
    """Find non-overlapping PII in ``text``.

    Args:
        text: The text to search.
        kinds: Which kinds to look for.

    Returns:
        The matches sorted by position; on overlap the kind earlier in :data:`KINDS` wins.

    Raises:
        ConfigError: For an unknown kind.
        DataError: When ``text`` is not a ``str``.
    """
    _check_kinds(kinds)
    if not isinstance(text, str):
        raise DataError(f"the PII scrubber expects str, got {type(text).__name__}")
    priority = {kind: i for i, kind in enumerate(KINDS)}
    chosen: list[PIIMatch] = []
    for match in sorted(_candidates(text, kinds), key=lambda m: (priority[m.kind], m.start, -m.end)):
        if all(match.end <= c.start or match.start >= c.end for c in chosen):
            chosen.append(match)
    return sorted(chosen, key=lambda m: m.start)


def scrub_with_matches(text: str, kinds: Sequence[str] = KINDS) -> ScrubResult:
    """Replace PII with typed placeholders and return the text with what was replaced.

    Args:
        text: The text to scrub.
        kinds: Which kinds to scrub.

    Returns:
        The scrubbed text and the matches (original offsets).

    Raises:
        ConfigError: For an unknown kind.
        DataError: When ``text`` is not a ``str``.
    """
    matches = find_pii(text, kinds)
    parts: list[str] = []
    cursor = 0
    for match in matches:
        parts.append(text[cursor : match.start])
        parts.append(match.placeholder)
        cursor = match.end
    parts.append(text[cursor:])
    return ScrubResult("".join(parts), tuple(matches))


def scrub(text: str, kinds: Sequence[str] = KINDS) -> str:
    """Return ``text`` with PII replaced by ``<EMAIL>``, ``<IP>``, ``<CARD>``, ``<PHONE>``.

    Example:
        >>> scrub("mail ann+news@lists.example.org or call +44 20 7946 0958")
        'mail <EMAIL> or call <PHONE>'
    """
    return scrub_with_matches(text, kinds).text


def restore(result: ScrubResult) -> str:
    """Rebuild the original text from a :class:`ScrubResult` (for audits; never feed it to a model).

    Raises:
        DataError: When the scrubbed text does not hold the placeholders the matches describe.
    """
    parts: list[str] = []
    cursor = 0  # position in the scrubbed text
    shift = 0  # scrubbed offset minus original offset, so far
    for match in result.matches:
        at = match.start + shift
        if at < cursor or result.text[at : at + len(match.placeholder)] != match.placeholder:
            raise DataError(f"scrubbed text lacks placeholder {match.placeholder} for the match at {match.start}")
        parts.append(result.text[cursor:at])
        parts.append(match.value)
        cursor = at + len(match.placeholder)
        shift += len(match.placeholder) - (match.end - match.start)
    parts.append(result.text[cursor:])
    return "".join(parts)


class PIIScrubber(Transform):
    """Transform: scrub a ``str`` sample, or the first element of a ``(text, ...)`` tuple."""

    name: ClassVar[str] = "core.pii_scrub"
    config_class: ClassVar[type[PIIScrubConfig]] = PIIScrubConfig

    def __init__(self, config: PIIScrubConfig | None = None) -> None:
        """Args:
        config: Which kinds to scrub (all by default).

        Raises:
            ConfigError: For an unknown kind.
        """
        self.config = config or PIIScrubConfig()
        _check_kinds(self.config.kinds)

    def __call__(self, sample: Any) -> Any:
        """Scrub ``sample`` (a str, or a tuple whose first element is the text)."""
        if isinstance(sample, tuple) and sample and isinstance(sample[0], str):
            return (scrub(sample[0], self.config.kinds), *sample[1:])
        return scrub(sample, self.config.kinds)
