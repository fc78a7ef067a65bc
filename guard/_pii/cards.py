"""Payment card numbers: any 12-19 digit run (contiguous or consistently grouped) that passes Luhn *and*
starts with a known issuer prefix for its length, so random Luhn-valid order numbers stay out (stock
Presidio's patterns miss 12-13 digit Maestro, 15-digit JCB and 19-digit cards)."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

# Issuer prefix ranges (inclusive, compared on the first len(lo) digits) and the lengths they issue.
# From the card networks' published IIN tables: Visa, Mastercard, Amex, Discover, JCB, Diners, Maestro,
# UnionPay, Mir, RuPay, Troy.
_R16_19 = tuple(range(16, 20))
_ISSUERS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),
    ("51", "55", (16,)),
    ("2221", "2720", (16,)),
    ("34", "34", (15,)),
    ("37", "37", (15,)),
    ("6011", "6011", _R16_19),
    ("644", "649", _R16_19),
    ("65", "65", _R16_19),
    # JCB publishes 3528-3589; the rest of 35 is JCB's reserve and generators (Faker) issue from it too.
    ("3500", "3599", _R16_19),
    ("2131", "2131", (15,)),
    ("1800", "1800", (15,)),
    ("300", "305", tuple(range(14, 20))),
    ("36", "36", tuple(range(14, 20))),
    ("38", "39", tuple(range(14, 20))),
    ("50", "50", tuple(range(12, 20))),
    ("56", "69", tuple(range(12, 20))),
    ("2200", "2204", _R16_19),
    ("81", "82", (16,)),
    ("9792", "9792", (16,)),
)


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number carries in its last digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def known_issuer(digits: str) -> bool:
    length = len(digits)
    return any(length in lengths and lo <= digits[: len(lo)] <= hi for lo, hi, lengths in _ISSUERS)


class ProdguardCreditCardRecognizer(PatternRecognizer):
    """Payment card numbers of 12-19 digits: Luhn-valid, known issuer prefix, consistent grouping."""

    PATTERN = r"(?<![\w.+-])\d(?:[ -]?\d){11,18}(?![\w-]|[.,]\d)"

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CREDIT_CARD",
            name="ProdguardCreditCardRecognizer",
            patterns=[Pattern("card number", self.PATTERN, 0.3)],
            context=[
                "credit",
                "card",
                "visa",
                "mastercard",
                "amex",
                "discover",
                "jcb",
                "diners",
                "maestro",
                "unionpay",
                "debit",
                "payment",
                "charge",
            ],
        )

    def validate_result(self, pattern_text: str) -> bool:
        separators = {ch for ch in pattern_text if not ch.isdigit()}
        if len(separators) > 1:
            return False
        digits = pattern_text.replace(" ", "").replace("-", "")
        return known_issuer(digits) and luhn_ok(digits)
