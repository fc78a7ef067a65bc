"""Generate the labelled PII set for ``bench/pii_accuracy.py``: chat-style sentences with planted values.

    python bench/pii_data.py [--seed 20251124] [--count 1200] [--show 20]

Every planted value is recorded as a gold span (start, end, entity type). The entity types are the guard's
default set (PERSON, EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, US_SSN, IBAN_CODE, IP_ADDRESS, STREET_ADDRESS,
LOCATION).
Sentences also carry unlabelled hard negatives that look like PII to a careless detector: dates and times,
order and ticket numbers, prices, versions, tracking numbers, product and company names.

Values come from Faker (names, streets, cities, IBANs, IPs, cards; several locales) with a fixed seed, and
from this module's own format tables (phone numbers in national and international notation, SSNs, card
groupings). Phone numbers outside the US are resampled until ``phonenumbers`` says they are valid (real
numbers are); US numbers keep the fictional 555 ranges the brief asks for. Card numbers are Luhn-checked and
IBANs mod-97-checked here so a generator bug cannot masquerade as a detector miss.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

import phonenumbers
from faker import Faker

DEFAULT_SEED = 20251124
DEFAULT_COUNT = 1200
NAME_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "en_IN", "pt_BR")


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    entity_type: str


@dataclass(frozen=True)
class Sample:
    text: str
    spans: tuple[GoldSpan, ...]


class _Values:
    """Value makers, one method per slot name used in the templates."""

    def __init__(self, seed: int) -> None:
        self.rng = Random(seed)
        self.fakers: dict[str, Faker] = {}
        for i, loc in enumerate((*NAME_LOCALES, "ja_JP")):
            fake = Faker(loc)
            fake.seed_instance(seed + i)
            self.fakers[loc] = fake

    def _fake(self, locales: tuple[str, ...] = NAME_LOCALES) -> Faker:
        return self.fakers[self.rng.choice(locales)]

    # -- people -------------------------------------------------------------------------------------
    def _first_last(self) -> tuple[str, str]:
        if self.rng.random() < 0.08:  # Japanese names in Latin script
            fake = self.fakers["ja_JP"]
            return fake.first_romanized_name(), fake.last_romanized_name()
        fake = self._fake()
        return fake.first_name(), fake.last_name()

    def person(self) -> str:
        first, last = self._first_last()
        roll = self.rng.random()
        if roll < 0.62:
            return f"{first} {last}"
        if roll < 0.72:
            return first
        if roll < 0.84:
            return f"{self.rng.choice(('Dr.', 'Mr.', 'Ms.', 'Mrs.', 'Prof.'))} {last}"
        if roll < 0.92:
            second, _ = self._first_last()
            return f"{first} {second[0]}. {last}"
        return f"{first} {last}-{self._first_last()[1]}"

    def full_name(self) -> str:
        first, last = self._first_last()
        return f"{first} {last}"

    # -- contact ------------------------------------------------------------------------------------
    def email(self) -> str:
        fake = self._fake()
        first, last = self._first_last()
        local = re.sub(r"[^a-z]", "", first.lower()) or "user"
        surname = re.sub(r"[^a-z]", "", last.lower()) or "mail"
        domain = self.rng.choice(
            (fake.free_email_domain(), fake.domain_name(), "company.io", "uni-hamburg.de")
        )
        style = self.rng.randrange(5)
        if style == 0:
            return f"{local}.{surname}@{domain}"
        if style == 1:
            return f"{local[0]}{surname}{self.rng.randrange(1, 99)}@{domain}"
        if style == 2:
            return f"{surname}_{local}@{domain}"
        if style == 3:
            return f"{local}+orders@{domain}"
        return fake.email()

    def _digits(self, template: str) -> str:
        """Fill ``#`` with any digit and ``N`` with 2-9 (NANP area/exchange rule)."""
        out = []
        for ch in template:
            if ch == "#":
                out.append(str(self.rng.randrange(10)))
            elif ch == "N":
                out.append(str(self.rng.randrange(2, 10)))
            else:
                out.append(ch)
        return "".join(out)

    _US_FORMATS = (
        "(NNN) NNN-####",
        "NNN-NNN-####",
        "NNN.NNN.####",
        "+1 NNN NNN ####",
        "+1-NNN-NNN-####",
        "(555) 123-####",
        "555.123.####",
        "555-NNN-####",
        "1-800-NNN-####",
        "NNN NNN ####",
    )
    # Region, format; resampled until phonenumbers calls the number valid.
    _INTL_FORMATS = (
        ("GB", "+44 20 #### ####"),
        ("GB", "+44 7### ######"),
        ("GB", "020 #### ####"),
        ("GB", "07### ######"),
        ("GB", "+44 (0)20 #### ####"),
        ("GB", "+44 161 ### ####"),
        ("DE", "+49 30 ########"),
        ("DE", "+49 89 #######"),
        ("DE", "+49 151 ########"),
        ("DE", "0049 30 #######"),
        ("FR", "+33 1 ## ## ## ##"),
        ("FR", "+33 6 ## ## ## ##"),
        ("FR", "+33 (0)1 ## ## ## ##"),
        ("JP", "+81 3-####-####"),
        ("JP", "+81 90-####-####"),
        ("JP", "+81-6-####-####"),
        ("IN", "+91 9#### #####"),
        ("IN", "+91-98###-#####"),
        ("IN", "+91 80 #### ####"),
        ("AU", "+61 2 #### ####"),
        ("AU", "+61 4## ### ###"),
        ("ES", "+34 91# ### ###"),
        ("IT", "+39 06 #### ####"),
        ("BR", "+55 11 9####-####"),
        ("NL", "+31 20 ### ####"),
        ("CH", "+41 44 ### ## ##"),
        ("SG", "+65 6### ####"),
        ("MX", "+52 55 #### ####"),
        ("IE", "+353 1 ### ####"),
        ("CN", "+86 10 #### ####"),
    )

    def phone(self) -> str:
        if self.rng.random() < 0.4:
            return self._digits(self.rng.choice(self._US_FORMATS))
        region, template = self.rng.choice(self._INTL_FORMATS)
        for _ in range(200):
            value = self._digits(template)
            parsed = phonenumbers.parse(value.replace("0049", "+49", 1), region)
            if phonenumbers.is_valid_number(parsed):
                return value
        raise RuntimeError(f"no valid number for {template}")

    # -- payment and identity -----------------------------------------------------------------------
    # Brand prefix, length, display grouping (None = contiguous only).
    _CARDS = (
        ("4", 16, (4, 4, 4, 4)),
        ("4", 19, (4, 4, 4, 4, 3)),
        ("51", 16, (4, 4, 4, 4)),
        ("2221", 16, (4, 4, 4, 4)),
        ("34", 15, (4, 6, 5)),
        ("37", 15, (4, 6, 5)),
        ("6011", 16, (4, 4, 4, 4)),
        ("65", 16, (4, 4, 4, 4)),
        ("3528", 16, (4, 4, 4, 4)),
        ("3589", 16, (4, 4, 4, 4)),
        ("2131", 15, (4, 4, 4, 3)),
        ("1800", 15, (4, 6, 5)),
        ("36", 14, (4, 6, 4)),
        ("300", 14, (4, 6, 4)),
        ("5018", 12, (4, 4, 4)),
        ("6304", 13, (4, 4, 5)),
        ("6759", 16, (4, 4, 4, 4)),
        ("5020", 18, (4, 4, 4, 4, 2)),
        ("6761", 19, (4, 4, 4, 4, 3)),
        ("62", 16, (4, 4, 4, 4)),
        ("62", 19, (4, 4, 4, 4, 3)),
    )

    def card(self) -> str:
        prefix, length, groups = self.rng.choice(self._CARDS)
        body = prefix + "".join(str(self.rng.randrange(10)) for _ in range(length - len(prefix) - 1))
        number = body + str(_luhn_check_digit(body))
        assert _luhn_ok(number)
        sep = self.rng.choice(("", " ", " ", "-"))
        if not sep:
            return number
        parts, at = [], 0
        for size in groups:
            parts.append(number[at : at + size])
            at += size
        return sep.join(parts)

    def ssn(self) -> str:
        area = self.rng.choice([a for a in range(1, 900) if a != 666])
        value = f"{area:03d}{self.rng.randrange(1, 100):02d}{self.rng.randrange(1, 10000):04d}"
        sep = self.rng.choice(("-", "-", "-", " "))
        return f"{value[:3]}{sep}{value[3:5]}{sep}{value[5:]}"

    def ssn_plain(self) -> str:
        return self.ssn().replace("-", "").replace(" ", "")

    def iban(self) -> str:
        fake = self.fakers[self.rng.choice(("de_DE", "fr_FR", "en_GB", "es_ES", "it_IT", "nl_NL", "pl_PL"))]
        value = fake.iban()
        assert _iban_ok(value), value
        if self.rng.random() < 0.5:
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def ip(self) -> str:
        fake = self._fake(("en_US",))
        roll = self.rng.random()
        if roll < 0.45:
            return fake.ipv4_public()
        if roll < 0.75:
            return fake.ipv4_private()
        if roll < 0.9:
            return fake.ipv6()
        return str(fake.ipv6()).rsplit(":", 4)[0] + "::1"

    # -- places -------------------------------------------------------------------------------------
    _CITIES = (
        "Lisbon",
        "Leeds",
        "Munich",
        "Osaka",
        "Toronto",
        "Melbourne",
        "Chicago",
        "Seattle",
        "Denver",
        "Lyon",
        "Barcelona",
        "Rotterdam",
        "Krakow",
        "Dublin",
        "Edinburgh",
        "Bristol",
        "Austin",
        "Boston",
        "Hamburg",
        "Marseille",
        "Milan",
        "Naples",
        "Porto",
        "Vienna",
        "Zurich",
        "Geneva",
        "Oslo",
        "Helsinki",
        "Bangalore",
        "Mumbai",
        "Pune",
        "Nairobi",
        "Lagos",
        "Santiago",
        "Lima",
        "Bogota",
        "Manchester",
        "Glasgow",
        "Cardiff",
        "Phoenix",
        "Atlanta",
        "Portland",
        "Sacramento",
        "Calgary",
        "Vancouver",
        "Brisbane",
        "Auckland",
        "Cork",
        "Seville",
        "Valencia",
    )

    def city(self) -> str:
        return self.rng.choice(self._CITIES)

    def address(self) -> str:
        loc = self.rng.choice(
            ("en_US", "en_US", "en_US", "en_GB", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_it")
        )
        if loc == "es_it":
            fake = self.fakers[self.rng.choice(("es_ES", "it_IT"))]
            kind = self.rng.choice(("Calle", "Avenida", "Via", "Viale", "Piazza", "Corso"))
            street = f"{kind} {fake.last_name()} {self.rng.randrange(1, 200)}"
            return street if self.rng.random() < 0.5 else f"{street}, {fake.postcode()} {fake.city()}"
        fake = self.fakers[loc]
        if loc == "fr_FR":
            street = f"{fake.building_number()} {fake.street_name()}"
        else:
            street = fake.street_address().replace("\n", ", ")
            if not re.search(r"\d", street):
                street = f"{fake.building_number()} {street}"
        if self.rng.random() < 0.5:
            return street
        if loc == "en_US":
            return f"{street}, {fake.city()}, {fake.state_abbr()} {fake.zipcode()}"
        if loc == "en_GB":
            return f"{street}, {fake.city()} {fake.postcode()}"
        return f"{street}, {fake.postcode()} {fake.city()}"

    # -- unlabelled look-alikes ---------------------------------------------------------------------
    def date(self) -> str:
        fake = self._fake(("en_US",))
        day = fake.date_between("-2y", "+1y")
        style = self.rng.randrange(5)
        if style == 0:
            return day.isoformat()
        if style == 1:
            return day.strftime("%B %-d, %Y")
        if style == 2:
            return day.strftime("%d/%m/%Y")
        if style == 3:
            return day.strftime("%-d %b %Y")
        return self.rng.choice(("next Tuesday", "tomorrow at 3pm", "end of Q3", "Friday morning"))

    def order(self) -> str:
        return self.rng.choice(
            (
                f"#{self.rng.randrange(10000, 99999)}",
                f"ORD-{self.rng.randrange(100000, 999999)}",
                f"INC{self.rng.randrange(1000000, 9999999):08d}",
                f"1Z{self.rng.randrange(10**15, 10**16)}",
                f"PO {self.rng.randrange(2020, 2026)}-{self.rng.randrange(1000, 9999)}",
                f"SKU {self.rng.randrange(10, 99)}-{self.rng.randrange(1000, 9999)}-{self.rng.randrange(10, 99)}",
            )
        )

    def amount(self) -> str:
        return self.rng.choice(
            (
                f"${self.rng.randrange(1, 9999):,}.{self.rng.randrange(100):02d}",
                f"€{self.rng.randrange(5, 500)}",
                f"{self.rng.randrange(1, 90)}%",
                f"{self.rng.randrange(1, 64)} GB",
                f"{self.rng.randrange(1000, 250000):,} tokens",
            )
        )

    def money(self) -> str:
        return self.rng.choice(
            (
                f"${self.rng.randrange(1, 9999):,}.{self.rng.randrange(100):02d}",
                f"€{self.rng.randrange(5, 500)}",
                f"£{self.rng.randrange(5, 900)}.{self.rng.randrange(100):02d}",
                f"{self.rng.randrange(10, 999)} USD",
            )
        )

    def version(self) -> str:
        return self.rng.choice(
            (
                f"v{self.rng.randrange(1, 5)}.{self.rng.randrange(0, 30)}.{self.rng.randrange(0, 12)}",
                f"Python 3.{self.rng.randrange(8, 14)}",
                f"build {self.rng.randrange(1000, 99999)}",
                f"{self.rng.randrange(0, 24):02d}:{self.rng.randrange(0, 60):02d}",
                f"port {self.rng.choice((8080, 5432, 6379, 443, 3000))}",
            )
        )

    def topic(self) -> str:
        """Title-case phrases that are not names: teams, job titles, events, features, products."""
        return self.rng.choice(
            (
                "Black Friday",
                "Customer Success",
                "Senior Product Manager",
                "Christmas Eve",
                "Quarterly Business Review",
                "Machine Learning",
                "Annual Leave",
                "Open Source",
                "Premium Plan",
                "Google Sheets",
                "Microsoft Teams",
                "Visual Studio Code",
                "Apple Pay",
                "Prime Day",
                "Help Center",
                "Release Notes",
                "Terms of Service",
                "New Year",
                "Data Science",
                "Human Resources",
                "Single Sign-On",
                "Account Executive",
                "Cyber Monday",
                "Early Access",
                "Dark Mode",
            )
        )

    def product(self) -> str:
        return self.rng.choice(
            (
                "Excel",
                "Kubernetes",
                "Postgres",
                "Slack",
                "Jira",
                "Salesforce",
                "GitHub",
                "Zendesk",
                "the iPhone 15",
                "Windows 11",
                "Stripe",
                "AWS Lambda",
                "Notion",
                "the Pixel 8",
                "Google Sheets",
                "Microsoft Teams",
                "Shopify",
            )
        )


# Slots that are labelled, and the entity type their value carries.
LABELLED = {
    "PERSON": "PERSON",
    "NAME": "PERSON",
    "EMAIL": "EMAIL_ADDRESS",
    "PHONE": "PHONE_NUMBER",
    "CARD": "CREDIT_CARD",
    "SSN": "US_SSN",
    "SSN_PLAIN": "US_SSN",
    "IBAN": "IBAN_CODE",
    "IP": "IP_ADDRESS",
    "ADDRESS": "STREET_ADDRESS",
    "CITY": "LOCATION",
}

TEMPLATES = (
    # introductions and contact details
    "Hi, my name is {NAME} and I can't log into my account since {DATE}.",
    "Hello, this is {NAME}. My phone number is {PHONE} if the technician needs it.",
    "Please call me back on {PHONE}, I'm free {DATE}.",
    "You can reach {PERSON} at {EMAIL} or on {PHONE}.",
    "Can you draft a polite reply to {PERSON} ({EMAIL}) about order {ORDER}?",
    "Forward the invoice to {EMAIL} and cc {EMAIL}.",
    "My email is {EMAIL}, please send the receipt for {MONEY} there.",
    "{PERSON} called from {PHONE} asking about ticket {ORDER}.",
    'Summarize this voicemail: "Hi, it\'s {NAME}, call me at {PHONE}, thanks."',
    "Dear {PERSON}, thank you for your order {ORDER} placed on {DATE}.",
    "Thanks, {PERSON}. I'll check with {PERSON} and get back to you {DATE}.",
    'Translate to German: "{PERSON} will meet {PERSON} in {CITY} on {DATE}."',
    "Our new hire {NAME} starts {DATE}; set up {PRODUCT} and email {EMAIL} with the details.",
    "Emergency contact: {NAME}, {PHONE}.",
    "The customer's mobile is {PHONE} and the landline is {PHONE}.",
    "Text {PHONE} when the parcel {ORDER} ships.",
    "WhatsApp {NAME} on {PHONE} about the {VERSION} release.",
    # addresses and places
    "Please update my shipping address to {ADDRESS}.",
    "Ship the replacement to {NAME}, {ADDRESS}, before {DATE}.",
    "I moved from {CITY} to {ADDRESS} last month.",
    "The package for order {ORDER} is stuck; the delivery address is {ADDRESS}.",
    "I live in {CITY} and work remotely for a company in {CITY}.",
    "Is there a {PRODUCT} training near {ADDRESS}?",
    "Billing address: {ADDRESS}. Cardholder: {NAME}.",
    # payment and identity
    "Charge {MONEY} to my card {CARD}, expiry 09/{YY}.",
    "My card number is {CARD} and the billing name is {NAME}.",
    "Why was {CARD} declined for a {MONEY} payment on {DATE}?",
    "Refund order {ORDER} to the {BRAND} ending in the number {CARD}.",
    "Use card {CARD} for the {PRODUCT} subscription.",
    "My SSN is {SSN}, do I need it for the {PRODUCT} onboarding form?",
    "Employee {NAME}, SSN {SSN}, start date {DATE}.",
    "Social security number: {SSN_PLAIN}",
    "Verify the applicant {NAME} with SSN {SSN} and phone {PHONE}.",
    "Wire the refund to IBAN {IBAN}, account holder {NAME}.",
    "Our supplier's bank details changed to {IBAN}; reference {ORDER}.",
    "Is {IBAN} a valid IBAN for a SEPA transfer of {MONEY}?",
    # technical support
    "Login attempts for {EMAIL} came from {IP} at {VERSION}.",
    "Whitelist {IP} and {IP} on {PORT} for the {PRODUCT} integration.",
    "The server at {IP} returns 502 since we upgraded to {VERSION}.",
    "User {NAME} reports VPN drops; their IP is {IP}.",
    "Block {IP}, it sent {AMOUNT} of spam to {EMAIL}.",
    # longer mixed messages
    "Hi team, {NAME} here. Card {CARD} was charged twice for order {ORDER}; call me on {PHONE} or write to {EMAIL}.",
    "New customer: {NAME}, {ADDRESS}, phone {PHONE}, email {EMAIL}, IBAN {IBAN}.",
    "Patient {NAME} (SSN {SSN}) lives at {ADDRESS} and can be reached at {PHONE}.",
    "Can you check why {PERSON} at {IP} could not pay with {CARD} on {DATE}?",
    "Ask {PERSON} from {TOPIC} whether the {TOPIC} rollout is still planned for {DATE}.",
    "{PERSON} is our new {TOPIC}; add them to the {PRODUCT} channel.",
    # no PII at all (hard negatives only)
    "Draft the {TOPIC} announcement for {DATE} and mention {TOPIC}.",
    "Our {TOPIC} team needs the {TOPIC} numbers by {DATE}.",
    "Is {TOPIC} included in the {TOPIC} for {AMOUNT} per seat?",
    "Order {ORDER} for {MONEY} was delayed until {DATE}; please apologize in the reply.",
    "Write a haiku about {PRODUCT} and {VERSION}.",
    "Compare {PRODUCT} with {PRODUCT} for a team of 40, budget {AMOUNT}.",
    "The meeting moved to {DATE} at {VERSION}; agenda item 3 is the {AMOUNT} overrun.",
    "Explain error 0x80070005 in {PRODUCT} after the {VERSION} update.",
    "Tracking number {ORDER} shows the parcel left the depot on {DATE}.",
    "Summarize the Q3 report: revenue grew {AMOUNT}, churn fell to {AMOUNT}.",
    "Refactor this function; it fails on {VERSION} with status 404 for item {ORDER}.",
)

_SLOT = re.compile(r"\{([A-Z_]+)\}")


def _luhn_check_digit(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def _luhn_ok(number: str) -> bool:
    return _luhn_check_digit(number[:-1]) == int(number[-1])


def _iban_ok(value: str) -> bool:
    compact = value.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def generate(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[Sample]:
    """``count`` labelled sentences, the same for the same seed (and the same Faker version)."""
    values = _Values(seed)
    makers: dict[str, Callable[[], str]] = {
        "PERSON": values.person,
        "NAME": values.full_name,
        "EMAIL": values.email,
        "PHONE": values.phone,
        "CARD": values.card,
        "SSN": values.ssn,
        "SSN_PLAIN": values.ssn_plain,
        "IBAN": values.iban,
        "IP": values.ip,
        "ADDRESS": values.address,
        "CITY": values.city,
        "DATE": values.date,
        "ORDER": values.order,
        "AMOUNT": values.amount,
        "MONEY": values.money,
        "VERSION": values.version,
        "PRODUCT": values.product,
        "TOPIC": values.topic,
        "PORT": lambda: f"port {values.rng.choice((22, 443, 8443, 5432))}",
        "YY": lambda: str(values.rng.randrange(26, 31)),
        "BRAND": lambda: values.rng.choice(("Visa", "Mastercard", "Amex", "JCB card", "Maestro card")),
    }
    samples = []
    for _ in range(count):
        template = values.rng.choice(TEMPLATES)
        parts: list[str] = []
        spans: list[GoldSpan] = []
        at = 0
        length = 0
        for match in _SLOT.finditer(template):
            literal = template[at : match.start()]
            parts.append(literal)
            length += len(literal)
            slot = match.group(1)
            value = makers[slot]()
            if slot in LABELLED:
                spans.append(GoldSpan(length, length + len(value), LABELLED[slot]))
            parts.append(value)
            length += len(value)
            at = match.end()
        parts.append(template[at:])
        samples.append(Sample("".join(parts), tuple(spans)))
    return samples


def prompts(samples: list[Sample], size: int = 1024, count: int = 200, seed: int = DEFAULT_SEED) -> list[str]:
    """``count`` chat prompts of about ``size`` characters: generated sentences joined, trimmed at a space."""
    rng = Random(seed)
    out = []
    for _ in range(count):
        text = ""
        while len(text) < size:
            text += rng.choice(samples).text + " "
        out.append(text[:size].rsplit(" ", 1)[0])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--show", type=int, default=20, help="print this many samples with their labels")
    args = parser.parse_args()
    samples = generate(args.count, args.seed)
    for sample in samples[: args.show]:
        labels = ", ".join(f"{s.entity_type}={sample.text[s.start : s.end]!r}" for s in sample.spans)
        print(f"{sample.text}\n    [{labels}]")
    counts: dict[str, int] = {}
    for sample in samples:
        for span in sample.spans:
            counts[span.entity_type] = counts.get(span.entity_type, 0) + 1
    print(f"{len(samples)} samples; gold spans per type: {dict(sorted(counts.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
