"""The practices the report judges, and which rules speak against each.

This table is the one place a rule meets a practice: a new rule is added to ``RULE_PRACTICE`` (or falls
to its kind's practice in ``KIND_PRACTICE``); a rule of neither is listed in the report as unmapped, and
``tests/test_readiness.py`` checks that every rule of the built-in catalogue maps somewhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from prodguard.rules.model import Kind, Rule
from prodguard.scanner.readiness.model import ReviewItem

PRODUCTION_GUIDE = "https://platform.openai.com/docs/guides/production-best-practices"
SAFETY_GUIDE = "https://platform.openai.com/docs/guides/safety-best-practices"
DOCS = "https://github.com/prodguard/prodguard/blob/main/docs/"


class Need(enum.Enum):
    """What a practice needs besides the absence of findings against it."""

    NOTHING = "nothing"  # no finding is enough (keys out of code)
    RECOMMENDED = "recommended"  # no control shown: partly
    REQUIRED = "required"  # no control shown: missing


class Applies(enum.Enum):
    """When a practice applies to a repository at all."""

    API_USE = "api_use"  # the code builds an OpenAI client or calls the API, or a key is committed
    GENERATION = "generation"  # the code makes text-generation requests
    USER_FACING = "user_facing"  # generation requests answer users (request handlers, UIs)
    ALWAYS = "always"


@dataclass(frozen=True)
class Practice:
    id: str
    title: str
    label: str  # a few words, for charts
    source: str  # "production" or "safety"
    section: str
    guide_url: str
    need: Need
    applies: Applies
    next_step: str
    docs: tuple[str, ...] = ()


PRACTICES: tuple[Practice, ...] = (
    Practice(
        "api-keys",
        "API keys and other secrets kept out of code and repositories",
        "Keys out of code",
        "production",
        "API keys",
        PRODUCTION_GUIDE + "#api-keys",
        Need.NOTHING,
        Applies.ALWAYS,
        "Revoke every committed key, load keys from the environment or a secret manager, and never "
        "ship a key to the browser.",
        ("rules/PG102.md", "rules/PG301.md", "rules/PG310.md"),
    ),
    Practice(
        "organization",
        "Requests name their organization and project",
        "Organization named",
        "production",
        "Setting up your organization",
        PRODUCTION_GUIDE + "#setting-up-your-organization",
        Need.NOTHING,
        Applies.API_USE,
        "Pass organization and project to the client from configuration (OPENAI_ORG_ID, "
        "OPENAI_PROJECT_ID), not as literals.",
        ("rules/PG207.md", "rules/PG302.md"),
    ),
    Practice(
        "staging-production",
        "Separate staging and production organizations",
        "Staging/production",
        "production",
        "Staging accounts",
        PRODUCTION_GUIDE + "#staging-accounts",
        Need.REQUIRED,
        Applies.API_USE,
        "Declare each environment's organization, projects, key fingerprints and paths in "
        "[tool.prodguard.environments], one organization per environment.",
        ("rules/PG201.md", "rules/PG203.md", "rules/PG204.md"),
    ),
    Practice(
        "billing-limits",
        "Soft and hard spending limits",
        "Spending limits",
        "production",
        "Managing billing limits",
        PRODUCTION_GUIDE + "#managing-billing-limits",
        Need.REQUIRED,
        Applies.API_USE,
        "Set soft and hard limits for the organization, and budgets with soft_* and max_* limits in "
        "[tool.prodguard.guard] with the guard installed.",
        ("budgets-and-limits.md",),
    ),
    Practice(
        "rate-limits",
        "Rate limits handled with retries and exponential backoff",
        "Rate limits, backoff",
        "production",
        "Managing rate limits and latency",
        PRODUCTION_GUIDE + "#managing-rate-limits-and-latency",
        Need.REQUIRED,
        Applies.API_USE,
        "Keep the SDK's retries on (max_retries > 0) or wrap calls in a backoff; the guard adds "
        "backoff honouring retry-after and shared RPM/TPM limits.",
        ("rules/PG305.md", "rules/PG313.md", "rules/PG314.md", "budgets-and-limits.md"),
    ),
    Practice(
        "caching",
        "Frequent requests cached",
        "Caching",
        "production",
        "Scaling your solution architecture",
        PRODUCTION_GUIDE + "#scaling-your-solution-architecture",
        Need.REQUIRED,
        Applies.GENERATION,
        "Cache deterministic requests: enable [tool.prodguard.guard.cache] with the guard installed.",
        ("budgets-and-limits.md",),
    ),
    Practice(
        "output-token-caps",
        "Output tokens capped on every generation request",
        "Output-token caps",
        "production",
        "Managing costs",
        PRODUCTION_GUIDE + "#managing-costs",
        Need.REQUIRED,
        Applies.GENERATION,
        "Pass max_completion_tokens / max_output_tokens on every generation request.",
        ("rules/PG306.md",),
    ),
    Practice(
        "evaluation",
        "Evaluation suite for model output",
        "Evaluation",
        "production",
        "Evaluation and iteration",
        PRODUCTION_GUIDE + "#evaluation-and-iteration",
        Need.REQUIRED,
        Applies.GENERATION,
        "Add an evaluation script or suite (a file or folder named eval/evals) that scores the "
        "model's answers against references.",
    ),
    Practice(
        "data-in-transit",
        "API traffic encrypted in transit",
        "Data in transit",
        "production",
        "Security and compliance",
        PRODUCTION_GUIDE + "#security-and-compliance",
        Need.NOTHING,
        Applies.API_USE,
        "Use https base URLs and keep TLS certificate verification on.",
        ("rules/PG303.md", "rules/PG304.md"),
    ),
    Practice(
        "data-protection",
        "Stored data protected: no raw prompts in logs, personal data anonymized, encrypted audit trail",
        "Data protection",
        "production",
        "Security and compliance",
        PRODUCTION_GUIDE + "#security-and-compliance",
        Need.RECOMMENDED,
        Applies.API_USE,
        "Log metadata only; install the guard with PII pseudonymization and the encrypted audit log "
        "(with retention_days).",
        ("rules/PG307.md", "audit-log.md", "guard.md"),
    ),
    Practice(
        "input-sanitization",
        "User input sanitized and bounded",
        "Input sanitization",
        "production",
        "Security and compliance",
        PRODUCTION_GUIDE + "#security-and-compliance",
        Need.REQUIRED,
        Applies.GENERATION,
        "Install the guard with sanitize enabled (Unicode normalization, control characters stripped, "
        "length capped), and keep user text out of the system/developer prompt.",
        ("rules/PG311.md", "guard.md"),
    ),
    Practice(
        "moderation",
        "Inputs and outputs moderated",
        "Moderation",
        "safety",
        "Use our free Moderation API",
        SAFETY_GUIDE + "#use-our-free-moderation-api",
        Need.REQUIRED,
        Applies.GENERATION,
        "Call moderations.create on user input (and output), or install the guard with moderation on.",
        ("rules/PG308.md", "rules/PG312.md", "rules/PG315.md", "guard.md"),
    ),
    Practice(
        "end-user-ids",
        "End-user identifiers sent with requests",
        "End-user ids",
        "safety",
        "End-user IDs",
        SAFETY_GUIDE + "#end-user-ids",
        Need.REQUIRED,
        Applies.USER_FACING,
        "Send a hashed safety_identifier for the user behind each request (the guard's end_user step "
        "does it).",
        ("rules/PG309.md",),
    ),
)

# Practices of the guides that no file shows; the report lists them for a human reviewer.
REVIEW: tuple[ReviewItem, ...] = (
    ReviewItem("adversarial-testing", "Red-team the application (adversarial testing)", "safety",
               SAFETY_GUIDE + "#adversarial-testing"),
    ReviewItem("human-in-the-loop", "Human review of outputs in high-stakes domains", "safety",
               SAFETY_GUIDE + "#human-in-the-loop-hitl"),
    ReviewItem("know-your-customer", "Know your customer: users sign up and log in", "safety",
               SAFETY_GUIDE + "#know-your-customer-kyc"),
    ReviewItem("report-issues", "Users can report problems with outputs", "safety",
               SAFETY_GUIDE + "#allow-users-to-report-issues"),
    ReviewItem("limitations", "Limitations understood and communicated", "safety",
               SAFETY_GUIDE + "#understand-and-communicate-limitations"),
    ReviewItem("prompt-engineering", "Prompts constrain topic and tone; examples of the desired output", "safety",
               SAFETY_GUIDE + "#prompt-engineering"),
    ReviewItem("prompt-reliability", "Unreliable tasks split into smaller, checked steps", "production",
               PRODUCTION_GUIDE + "#improving-prompt-reliability"),
    ReviewItem("scaling", "Horizontal or vertical scaling and load balancing planned", "production",
               PRODUCTION_GUIDE + "#scaling-your-solution-architecture"),
    ReviewItem("mlops", "MLOps: model monitoring, retraining and deployment", "production",
               PRODUCTION_GUIDE + "#mlops-strategy"),
)  # fmt: skip

# Rule id -> practice id. Rules not listed fall to their kind's practice below.
RULE_PRACTICE: dict[str, str] = {
    "PG202": "api-keys",  # a production key committed: a key in the repository first of all
    "PG207": "organization",
    "PG301": "api-keys",
    "PG302": "organization",
    "PG303": "data-in-transit",
    "PG304": "data-in-transit",
    "PG305": "rate-limits",
    "PG306": "output-token-caps",
    "PG307": "data-protection",
    "PG308": "moderation",
    "PG309": "end-user-ids",
    "PG310": "api-keys",
    "PG311": "input-sanitization",  # user text in the system prompt: the prompt-injection surface
    "PG312": "moderation",  # moderation called, verdict ignored
    "PG313": "rate-limits",  # no error handling or backoff around calls in a request path
    "PG314": "rate-limits",  # no timeout: latency of a request path unbounded
    "PG315": "moderation",  # a refusal used as if it were an answer
}
KIND_PRACTICE: dict[Kind, str] = {
    Kind.SECRET: "api-keys",
    Kind.ENVIRONMENT: "staging-production",
}
# Identifiers (organization and project ids) are not problems on their own; their misuse is reported
# by environment rules.
NOT_A_PROBLEM: frozenset[Kind] = frozenset({Kind.IDENTIFIER})


def practice_of(rule_id: str, kind: Kind) -> str | None:
    """The practice a finding of this rule speaks against, or ``None`` when no practice claims it."""
    return RULE_PRACTICE.get(rule_id) or KIND_PRACTICE.get(kind)


def unmapped_rules(rules: tuple[Rule, ...]) -> list[str]:
    """Rules of a catalogue that no practice claims (identifiers excepted)."""
    return [r.id for r in rules if r.kind not in NOT_A_PROBLEM and practice_of(r.id, r.kind) is None]
