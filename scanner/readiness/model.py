"""Records of the readiness report: statuses, evidence and the judged practices. Renderers read these."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from prodguard.scanner.finding import Finding


class Status(enum.StrEnum):
    """How far a repository follows one practice."""

    MET = "met"
    PARTLY = "partly"
    MISSING = "missing"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        """For people: ``not applicable`` rather than the JSON value."""
        return self.value.replace("_", " ")


# Shown by ``prodguard report --help``, the docs and every report format.
STATUS_MEANING: dict[Status, str] = {
    Status.MET: "the repository shows the control the practice asks for and no finding goes against it",
    Status.PARTLY: "followed in part: a control is configured incompletely or only in some places, "
    "or findings below high severity go against it",
    Status.MISSING: "a high or critical finding goes against it, or nothing in the code or "
    "configuration shows the control it needs",
    Status.NOT_APPLICABLE: "the repository does not do what the practice is about "
    "(for example it never calls the OpenAI API)",
}


class EvidenceKind(enum.StrEnum):
    FINDING = "finding"  # a scanner finding against the practice
    CONFIG = "config"  # an entry of the prodguard configuration
    CODE = "code"  # code that implements the control (guard installed, caps, ...)
    ABSENT = "absent"  # what was looked for and not found


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence. ``excerpt`` is the scanner's redacted excerpt: never a secret."""

    kind: EvidenceKind
    summary: str
    path: str | None = None
    line: int | None = None
    rule_id: str | None = None
    severity: str | None = None
    excerpt: str | None = None

    @property
    def location(self) -> str | None:
        if self.path is None:
            return None
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class PracticeResult:
    """A practice of the catalogue judged for one repository."""

    id: str
    title: str
    label: str  # a few words, for charts
    source: str  # "production" or "safety": which OpenAI guide the practice comes from
    section: str  # the guide's section
    status: Status
    reason: str  # one sentence: why this status
    evidence: tuple[Evidence, ...]
    findings: tuple[Finding, ...]
    next_step: str | None  # None when met or not applicable
    guide_url: str
    docs: tuple[str, ...]  # rule pages and guides for the next step

    def shown_evidence(self) -> tuple[Evidence, ...]:
        """The evidence minus what ``reason`` already says (an absent control it names)."""
        return tuple(
            e for e in self.evidence if not (e.kind is EvidenceKind.ABSENT and e.summary in self.reason)
        )


@dataclass(frozen=True)
class ReviewItem:
    """A practice of the guides that code cannot show (red-teaming, human review): listed for review."""

    id: str
    title: str
    source: str
    guide_url: str


@dataclass(frozen=True)
class GuardStatus:
    """Whether and where the runtime guard is installed, and what its policy turns on."""

    installed: tuple[Evidence, ...]
    policy_source: str | None
    moderation: bool
    pii: bool
    audit: bool
    sanitize: bool
    end_user: bool
    backoff: bool


@dataclass(frozen=True)
class ReadinessReport:
    root: str
    config_path: str | None
    environments_declared: bool
    guard: GuardStatus
    practices: tuple[PracticeResult, ...]
    review: tuple[ReviewItem, ...]
    unmapped: tuple[Finding, ...]  # findings of rules no practice claims (new rules slot in via catalog)
    files_scanned: int
    findings: int

    def counts(self) -> dict[Status, int]:
        counts = dict.fromkeys(Status, 0)
        for practice in self.practices:
            counts[practice.status] += 1
        return counts
