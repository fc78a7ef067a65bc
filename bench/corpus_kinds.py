"""What the labelled corpus plants: one generator per credential kind and per hard-negative kind.

Every value is made here from a seeded ``random.Random`` in the real format of its provider (prefix,
length, alphabet, checksum where the format has one), so the corpus looks like leaked code without
containing a single real credential. Hard negatives are the things a careless scanner flags: placeholders,
environment lookups, hashes, public keys, look-alike prefixes and documented fake fixtures.
"""

from __future__ import annotations

import base64
import json
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
LETTERS = string.ascii_letters
DIGITS = string.digits
ALNUM = LETTERS + DIGITS
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
# Passwords people type: no quotes, backslashes, '$' or '#', which would change meaning in .env, INI or shell.
PASSWORD_CHARS = ALNUM + "!@^*+._-"

# File types a kind may be rendered into (see corpus_formats.FORMATS); None = all of them.
PEM_TYPES = frozenset({"py", "yaml", "md", "env", "json", "tf", "sh", "ipynb"})
CODE_TYPES = frozenset({"py", "ipynb"})


@dataclass(frozen=True)
class Plant:
    """One planted value. ``style`` says how a format writes it:
    ``literal`` a quoted/unquoted value; ``envref`` a lookup of the variable ``value`` names;
    ``expr`` a Python expression (``value``) assigned as code; ``block`` the multi-line ``lines``."""

    kind: str
    positive: bool
    value: str
    names: tuple[str, ...]
    style: str = "literal"
    lines: tuple[str, ...] = ()
    client: str = ""  # SDK class whose constructor takes the value (``OpenAI``), if any
    kwarg: str = "api_key"
    bearer: bool = False  # sent as ``Authorization: Bearer`` in shell examples
    endpoint: str = ""  # a line this value needs nearby (Azure keys sit next to their endpoint)


@dataclass(frozen=True)
class KindSpec:
    name: str
    positive: bool
    group: str
    count: int
    make: Callable[[Random], Plant]
    types: frozenset[str] | None = None


def pick(rng: Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append((DIGITS + UPPER + LOWER)[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def github_token(rng: Random, prefix: str) -> str:
    """GitHub's 2021 format: 30 random base62 characters and their CRC32 in 6 base62 characters."""
    body = pick(rng, ALNUM, 30)
    return f"{prefix}_{body}{_base62(zlib.crc32(body.encode()), 6)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def jwt_token(rng: Random) -> str:
    alg = rng.choice(["HS256", "RS256", "ES256"])
    header = {"alg": alg, "typ": "JWT"}
    now = 1_700_000_000 + rng.randrange(50_000_000)
    payload = {
        "sub": pick(rng, HEX, 24),
        "iss": rng.choice(["https://auth.acme-corp.io/", "https://login.internal.example-co.net"]),
        "iat": now,
        "exp": now + rng.choice([3600, 86400, 2592000]),
        "scope": rng.choice(["read write", "admin", "api"]),
    }
    sig_len = {"HS256": 32, "RS256": 256, "ES256": 64}[alg]
    signature = bytes(rng.randrange(256) for _ in range(sig_len))
    return ".".join((_b64url(_compact(header)), _b64url(_compact(payload)), _b64url(signature)))


def _pem(rng: Random, label: str, der_prefix: bytes, size: int) -> tuple[str, ...]:
    der = der_prefix + bytes(rng.randrange(256) for _ in range(size))
    body = base64.b64encode(der).decode()
    rows = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (f"-----BEGIN {label}-----", *rows, f"-----END {label}-----")


def private_key_block(rng: Random) -> tuple[str, ...]:
    label, prefix, size = rng.choice(
        [
            ("RSA PRIVATE KEY", bytes.fromhex("308204a40201000282010100"), 1180),
            ("PRIVATE KEY", bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7"), 1191),
            ("EC PRIVATE KEY", bytes.fromhex("30770201010420"), 114),
            ("OPENSSH PRIVATE KEY", b"openssh-key-v1\x00\x00\x00\x00\x04none", 360),
        ]
    )
    return _pem(rng, label, prefix, size)


def public_block(rng: Random) -> tuple[str, ...]:
    label, prefix, size = rng.choice(
        [
            ("CERTIFICATE", bytes.fromhex("308203713082025902"), 880),
            ("PUBLIC KEY", bytes.fromhex("30820122300d06092a864886f70d01010105000382010f00"), 270),
        ]
    )
    return _pem(rng, label, prefix, size)


def png_base64(rng: Random) -> str:
    header = bytes.fromhex("89504e470d0a1a0a0000000d49484452")
    return base64.b64encode(
        header + bytes(rng.randrange(256) for _ in range(rng.randrange(1500, 9000)))
    ).decode()


# --- positives ---------------------------------------------------------------------------------------

OPENAI_NAMES = ("OPENAI_API_KEY", "openai_api_key", "OPENAI_KEY", "api_key")


def _openai(
    kind: str, make_value: Callable[[Random], str], names: tuple[str, ...] = OPENAI_NAMES
) -> KindSpec:
    def make(rng: Random) -> Plant:
        return Plant(kind, True, make_value(rng), names, client="OpenAI", bearer=True)

    return KindSpec(kind, True, "openai", 14, make)


def _long_form(prefix: str, side: int) -> Callable[[Random], str]:
    return lambda rng: f"{prefix}{pick(rng, URLSAFE, side)}T3BlbkFJ{pick(rng, URLSAFE, side)}"


def _simple(
    kind: str,
    group: str,
    make_value: Callable[[Random], str],
    names: tuple[str, ...],
    *,
    client: str = "",
    bearer: bool = False,
    count: int = 10,
    types: frozenset[str] | None = None,
) -> KindSpec:
    def make(rng: Random) -> Plant:
        return Plant(kind, True, make_value(rng), names, client=client, bearer=bearer)

    return KindSpec(kind, True, group, count, make, types)


def _azure_openai(rng: Random) -> Plant:
    resource = rng.choice(["contoso", "acme-eu", "fabrikam-prod", "northwind-ai", "tailspin-gpt"])
    return Plant(
        "azure-openai-key",
        True,
        pick(rng, HEX, 32),
        ("AZURE_OPENAI_API_KEY", "azure_openai_api_key", "AZURE_OPENAI_KEY"),
        client="AzureOpenAI",
        endpoint=f"https://{resource}-{pick(rng, LOWER, 4)}.openai.azure.com/",
    )


def _org_id(rng: Random) -> Plant:
    return Plant(
        "openai-org-id",
        True,
        "org-" + pick(rng, ALNUM, 24),
        ("OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "organization"),
        client="OpenAI",
        kwarg="organization",
    )


def _project_id(rng: Random) -> Plant:
    return Plant(
        "openai-project-id",
        True,
        "proj_" + pick(rng, ALNUM, 24),
        ("OPENAI_PROJECT_ID", "OPENAI_PROJECT", "project"),
        client="OpenAI",
        kwarg="project",
    )


def _webhook(rng: Random) -> Plant:
    secret = "whsec_" + base64.b64encode(bytes(rng.randrange(256) for _ in range(32))).decode()
    return Plant(
        "openai-webhook-secret",
        True,
        secret,
        ("OPENAI_WEBHOOK_SECRET", "webhook_secret"),
        client="OpenAI",
        kwarg="webhook_secret",
    )


def _aws_secret(rng: Random) -> str:
    return pick(rng, ALNUM + "+/", 40)


def _slack_webhook(rng: Random) -> str:
    return (
        f"https://hooks.slack.com/services/T{pick(rng, UPPER + DIGITS, 8)}/"
        f"B{pick(rng, UPPER + DIGITS, 10)}/{pick(rng, ALNUM, 24)}"
    )


def _db_url(rng: Random) -> str:
    user = rng.choice(["app", "admin", "svc_billing", "analytics", "root"])
    password = pick(rng, ALNUM, rng.randrange(14, 26))
    return rng.choice(
        [
            f"postgresql://{user}:{password}@db-{pick(rng, LOWER, 5)}.internal:5432/{user}",
            f"postgres://{user}:{password}@10.2.{rng.randrange(255)}.{rng.randrange(255)}:5432/prod",
            f"mysql://{user}:{password}@mysql.{pick(rng, LOWER, 6)}.rds.amazonaws.com:3306/shop",
            f"mongodb+srv://{user}:{password}@cluster0.{pick(rng, LOWER + DIGITS, 5)}.mongodb.net/app",
            f"redis://:{password}@cache-{pick(rng, LOWER, 4)}.internal:6379/0",
            f"amqp://{user}:{password}@rabbit.{pick(rng, LOWER, 5)}.svc:5672/",
        ]
    )


def _azure_storage(rng: Random) -> str:
    key = base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()
    return (
        f"DefaultEndpointsProtocol=https;AccountName={pick(rng, LOWER, 10)};AccountKey={key};"
        "EndpointSuffix=core.windows.net"
    )


def _private_key(rng: Random) -> Plant:
    lines = private_key_block(rng)
    return Plant(
        "private-key",
        True,
        "\n".join(lines),
        ("PRIVATE_KEY", "private_key", "SSH_PRIVATE_KEY", "tls_key"),
        style="block",
        lines=lines,
    )


def _password(rng: Random) -> str:
    return pick(rng, PASSWORD_CHARS, rng.randrange(14, 28))


POSITIVES: tuple[KindSpec, ...] = (
    _openai("openai-user-legacy", lambda r: f"sk-{pick(r, ALNUM, 20)}T3BlbkFJ{pick(r, ALNUM, 20)}"),
    _openai("openai-user-none", _long_form("sk-None-", 74)),
    _openai("openai-project-74", _long_form("sk-proj-", 74)),
    _openai("openai-project-58", _long_form("sk-proj-", 58)),
    _openai("openai-project-48", lambda r: "sk-proj-" + pick(r, ALNUM, 48)),
    _openai("openai-svcacct-74", _long_form("sk-svcacct-", 74)),
    _openai("openai-svcacct-58", _long_form("sk-svcacct-", 58)),
    _openai("openai-service-74", _long_form("sk-service-", 74)),
    _openai("openai-service-58", _long_form("sk-service-", 58)),
    _openai(
        "openai-admin-74", _long_form("sk-admin-", 74), ("OPENAI_ADMIN_KEY", "admin_key", "OPENAI_API_KEY")
    ),
    _openai(
        "openai-admin-58", _long_form("sk-admin-", 58), ("OPENAI_ADMIN_KEY", "admin_key", "OPENAI_API_KEY")
    ),
    KindSpec("openai-org-id", True, "openai", 14, _org_id),
    KindSpec("openai-project-id", True, "openai", 14, _project_id),
    KindSpec("openai-webhook-secret", True, "openai", 14, _webhook),
    _simple(
        "openai-ephemeral-secret",
        "openai",
        lambda r: "ek_" + pick(r, HEX, 32),
        ("client_secret", "ephemeral_key", "EPHEMERAL_KEY"),
        count=14,
    ),
    KindSpec("azure-openai-key", True, "openai", 14, _azure_openai),
    _simple(
        "azure-ai-services-key",
        "openai",
        lambda r: f"{pick(r, ALNUM, 52)}JQQJ9{r.choice('9ABCD')}{pick(r, ALNUM, 26)}",
        ("AZURE_OPENAI_API_KEY", "AZURE_AI_KEY", "azure_api_key"),
        client="AzureOpenAI",
        count=14,
    ),
    # Other LLM providers.
    _simple(
        "anthropic-api-key",
        "llm",
        lambda r: f"sk-ant-api03-{pick(r, URLSAFE, 93)}AA",
        ("ANTHROPIC_API_KEY", "anthropic_api_key"),
        client="Anthropic",
    ),
    _simple(
        "anthropic-admin-key",
        "llm",
        lambda r: f"sk-ant-admin01-{pick(r, URLSAFE, 93)}AA",
        ("ANTHROPIC_ADMIN_KEY", "anthropic_admin_key"),
    ),
    _simple(
        "google-ai-key", "llm", lambda r: "AIza" + pick(r, URLSAFE, 35), ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    ),
    _simple(
        "groq-api-key",
        "llm",
        lambda r: "gsk_" + pick(r, ALNUM, 52),
        ("GROQ_API_KEY",),
        client="Groq",
        bearer=True,
    ),
    _simple(
        "huggingface-token",
        "llm",
        lambda r: "hf_" + pick(r, LETTERS, 34),
        ("HF_TOKEN", "HUGGINGFACEHUB_API_TOKEN"),
        bearer=True,
    ),
    _simple(
        "replicate-token", "llm", lambda r: "r8_" + pick(r, ALNUM, 37), ("REPLICATE_API_TOKEN",), bearer=True
    ),
    _simple(
        "perplexity-key",
        "llm",
        lambda r: "pplx-" + pick(r, ALNUM, 48),
        ("PERPLEXITY_API_KEY", "PPLX_API_KEY"),
        bearer=True,
    ),
    _simple(
        "xai-key", "llm", lambda r: "xai-" + pick(r, ALNUM, 80), ("XAI_API_KEY", "GROK_API_KEY"), bearer=True
    ),
    _simple(
        "openrouter-key",
        "llm",
        lambda r: "sk-or-v1-" + pick(r, HEX, 64),
        ("OPENROUTER_API_KEY",),
        bearer=True,
    ),
    _simple(
        "langsmith-key",
        "llm",
        lambda r: f"lsv2_{r.choice(['pt', 'sk'])}_{pick(r, HEX, 32)}_{pick(r, HEX, 10)}",
        ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"),
    ),
    _simple("deepseek-key", "llm", lambda r: "sk-" + pick(r, HEX, 32), ("DEEPSEEK_API_KEY",), bearer=True),
    _simple(
        "mistral-key",
        "llm",
        lambda r: pick(r, ALNUM, 32),
        ("MISTRAL_API_KEY", "mistral_api_key"),
        client="Mistral",
    ),
    _simple(
        "cohere-key",
        "llm",
        lambda r: pick(r, ALNUM, 40),
        ("COHERE_API_KEY", "CO_API_KEY"),
        client="cohere.Client",
    ),
    _simple(
        "elevenlabs-key", "llm", lambda r: "sk_" + pick(r, HEX, 48), ("ELEVENLABS_API_KEY", "ELEVEN_API_KEY")
    ),
    # Cloud and common services.
    _simple(
        "aws-access-key-id",
        "common",
        lambda r: r.choice(["AKIA", "ASIA"]) + pick(r, UPPER + "234567", 16),
        ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
    ),
    _simple(
        "aws-secret-access-key", "common", _aws_secret, ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key")
    ),
    _simple(
        "github-pat-classic",
        "common",
        lambda r: github_token(r, "ghp"),
        ("GITHUB_TOKEN", "GH_TOKEN"),
        bearer=True,
    ),
    _simple(
        "github-token-other",
        "common",
        lambda r: github_token(r, r.choice(["gho", "ghs", "ghu", "ghr"])),
        ("GITHUB_TOKEN", "GITHUB_APP_TOKEN"),
        bearer=True,
    ),
    _simple(
        "github-fine-grained-pat",
        "common",
        lambda r: f"github_pat_{pick(r, ALNUM, 22)}_{pick(r, ALNUM, 59)}",
        ("GITHUB_TOKEN", "GH_PAT"),
        bearer=True,
    ),
    _simple(
        "gitlab-pat", "common", lambda r: "glpat-" + pick(r, URLSAFE, 20), ("GITLAB_TOKEN", "CI_PUSH_TOKEN")
    ),
    _simple(
        "slack-bot-token",
        "common",
        lambda r: f"xoxb-{pick(r, DIGITS, 11)}-{pick(r, DIGITS, 13)}-{pick(r, ALNUM, 24)}",
        ("SLACK_BOT_TOKEN", "slack_token"),
        bearer=True,
    ),
    _simple("slack-webhook", "common", _slack_webhook, ("SLACK_WEBHOOK_URL", "slack_webhook")),
    _simple(
        "stripe-live-secret",
        "common",
        lambda r: "sk_live_" + pick(r, ALNUM, r.choice([24, 99])),
        ("STRIPE_SECRET_KEY", "stripe_api_key"),
        bearer=True,
    ),
    _simple(
        "stripe-restricted-key",
        "common",
        lambda r: "rk_live_" + pick(r, ALNUM, r.choice([24, 99])),
        ("STRIPE_RESTRICTED_KEY",),
    ),
    _simple(
        "twilio-api-key",
        "common",
        lambda r: "SK" + pick(r, HEX, 32),
        ("TWILIO_API_KEY", "twilio_api_key_sid"),
    ),
    _simple(
        "sendgrid-key",
        "common",
        lambda r: f"SG.{pick(r, URLSAFE, 22)}.{pick(r, URLSAFE, 43)}",
        ("SENDGRID_API_KEY",),
        bearer=True,
    ),
    _simple("npm-token", "common", lambda r: "npm_" + pick(r, ALNUM, 36), ("NPM_TOKEN",)),
    _simple(
        "azure-storage-connection-string",
        "common",
        _azure_storage,
        ("AZURE_STORAGE_CONNECTION_STRING", "storage_connection"),
    ),
    KindSpec("private-key", True, "common", 10, _private_key, PEM_TYPES),
    _simple("jwt", "common", jwt_token, ("ACCESS_TOKEN", "auth_token", "JWT"), bearer=True),
    _simple(
        "db-url-password", "common", _db_url, ("DATABASE_URL", "database_url", "REDIS_URL", "BROKER_URL")
    ),
    _simple(
        "generic-password", "generic", _password, ("password", "DB_PASSWORD", "db_password", "SMTP_PASSWORD")
    ),
    _simple(
        "generic-secret",
        "generic",
        lambda r: pick(r, ALNUM + "_-", r.randrange(24, 48)),
        ("SECRET_KEY", "client_secret", "api_secret", "AUTH_SECRET", "signing_secret"),
    ),
)


# --- hard negatives ----------------------------------------------------------------------------------


def _neg(
    kind: str,
    values: Callable[[Random], str],
    names: tuple[str, ...],
    *,
    style: str = "literal",
    types: frozenset[str] | None = None,
    count: int = 20,
    client: str = "",
) -> KindSpec:
    def make(rng: Random) -> Plant:
        return Plant(kind, False, values(rng), names, style=style, client=client)

    return KindSpec(kind, False, "negative", count, make, types)


def _choice(options: list[str]) -> Callable[[Random], str]:
    return lambda rng: rng.choice(options)


API_KEY_NAMES = ("OPENAI_API_KEY", "api_key", "ANTHROPIC_API_KEY", "OPENAI_ADMIN_KEY", "GITHUB_TOKEN")


def _db_url_safe(rng: Random) -> str:
    return rng.choice(
        [
            "postgresql://app@localhost:5432/app",
            "postgres://app:${DB_PASSWORD}@db:5432/app",
            "postgresql://<user>:<password>@<host>:5432/<db>",
            "mysql://root@127.0.0.1:3306/test_db",
            "redis://localhost:6379/0",
            "mongodb://mongo:27017/app",
            f"postgresql+psycopg://{rng.choice(['reader', 'etl'])}@/warehouse?host=/cloudsql/proj:region:db",
        ]
    )


def _image(rng: Random) -> Plant:
    return Plant("notebook-image-base64", False, png_base64(rng), ("image/png",))


def _data_uri(rng: Random) -> Plant:
    return Plant("data-uri-image", False, "data:image/png;base64," + png_base64(rng)[:600], ("logo", "icon"))


def _public(rng: Random) -> Plant:
    lines = public_block(rng)
    return Plant(
        "pem-public",
        False,
        "\n".join(lines),
        ("CA_CERT", "ca_bundle", "PUBLIC_KEY", "tls_cert"),
        "block",
        lines,
    )


def _ssh_public(rng: Random) -> str:
    if rng.random() < 0.5:
        blob = base64.b64encode(
            b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 " + bytes(rng.randrange(256) for _ in range(32))
        )
        return f"ssh-ed25519 {blob.decode()} deploy@ci-{pick(rng, LOWER, 5)}"
    blob = base64.b64encode(
        b"\x00\x00\x00\x07ssh-rsa\x00\x00\x00\x03\x01\x00\x01" + bytes(rng.randrange(256) for _ in range(260))
    )
    return f"ssh-rsa {blob.decode()} ops@bastion"


def _fake_fixture(rng: Random) -> Plant:
    """AWS's documented example credentials, each under the name it is documented with."""
    if rng.random() < 0.5:
        return Plant(
            "fake-fixture", False, "AKIAIOSFODNN7EXAMPLE", ("aws_access_key_id", "AWS_ACCESS_KEY_ID")
        )
    return Plant(
        "fake-fixture",
        False,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
    )


def _sri(rng: Random) -> str:
    return "sha512-" + base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()


def _lookalike(rng: Random) -> str:
    return rng.choice(
        [
            f"risk-{pick(rng, ALNUM, 20)}T3BlbkFJ{pick(rng, ALNUM, 20)}",
            f"task-None-{pick(rng, URLSAFE, 56)}",
            f"desk-proj-{pick(rng, ALNUM, 48)}",
            f"mask-admin-{pick(rng, ALNUM, 90)}",
            f"disk-svcacct-{pick(rng, ALNUM, 90)}",
            f"husk-ant-api03-{pick(rng, ALNUM, 40)}",
        ]
    )


def _identifier(rng: Random) -> str:
    return rng.choice(
        [
            "peek_next_token_for_stream_window_and_cursor_pos",
            "https://github.com/acme-org-platform-infrastructure/deploy",
            "my_proj_directory_name_is_long_and_nested",
            "seek_to_end_of_buffer_then_flush_to_disk_quickly",
            "https://gitlab.com/big-org-engineering-handbook/pages",
            "check_whsec_header_signature_matches_payload",
        ]
    )


NEGATIVES: tuple[KindSpec, ...] = (
    _neg(
        "placeholder-xxxx",
        _choice(
            [
                "sk-" + "x" * 48,
                "sk-proj-" + "x" * 48,
                "sk-xxxxxxxxxxxxxxxxxxxxT3BlbkFJxxxxxxxxxxxxxxxxxxxx",
                "sk-ant-api03-" + "X" * 95,
                "ghp_" + "x" * 36,
                "AKIAXXXXXXXXXXXXXXXX",
            ]
        ),
        API_KEY_NAMES,
        client="OpenAI",
    ),
    _neg(
        "placeholder-ellipsis",
        _choice(["sk-...", "sk-proj-...", "sk-svcacct-...", "sk-ant-...", "whsec_...", "org-...", "sk-…"]),
        API_KEY_NAMES,
        client="OpenAI",
    ),
    _neg(
        "placeholder-your-key",
        _choice(
            ["your-api-key-here", "your_openai_api_key", "YOUR_API_KEY", "your-secret-key", "replace-me"]
        ),
        (*API_KEY_NAMES, "SECRET_KEY", "password"),
        client="OpenAI",
    ),
    _neg(
        "placeholder-angle",
        _choice(["<OPENAI_API_KEY>", "<your-api-key>", "<YOUR_TOKEN>", "<org-id>", "<project-key>"]),
        API_KEY_NAMES,
        client="OpenAI",
    ),
    _neg(
        "placeholder-redacted",
        _choice(
            [
                "sk-proj-REDACTED",
                "sk-****************************",
                "[REDACTED]",
                "sk-proj-********",
                "REDACTED",
            ]
        ),
        API_KEY_NAMES,
        client="OpenAI",
    ),
    _neg(
        "env-lookup",
        _choice(
            [
                "OPENAI_API_KEY",
                "OPENAI_ADMIN_KEY",
                "ANTHROPIC_API_KEY",
                "AWS_SECRET_ACCESS_KEY",
                "DB_PASSWORD",
                "GITHUB_TOKEN",
                "STRIPE_SECRET_KEY",
                "AZURE_OPENAI_API_KEY",
            ]
        ),
        ("api_key", "OPENAI_API_KEY", "password", "token", "secret"),
        style="envref",
        count=40,
    ),
    _neg("hash-md5", lambda r: pick(r, HEX, 32), ("md5", "checksum", "etag", "content_md5")),
    _neg("hash-sha1", lambda r: pick(r, HEX, 40), ("sha1", "fingerprint", "digest")),
    _neg("hash-sha256", lambda r: pick(r, HEX, 64), ("sha256", "checksum", "SHA256SUM", "image_digest")),
    _neg("hash-sri", _sri, ("integrity",), types=frozenset({"json"})),
    _neg(
        "uuid",
        lambda r: (
            f"{pick(r, HEX, 8)}-{pick(r, HEX, 4)}-4{pick(r, HEX, 3)}-a{pick(r, HEX, 3)}-{pick(r, HEX, 12)}"
        ),
        ("request_id", "tenant_id", "subscription_id", "client_id", "workspace_id"),
    ),
    _neg("git-sha", lambda r: pick(r, HEX, 40), ("rev", "commit", "GIT_SHA", "ref")),
    KindSpec("notebook-image-base64", False, "negative", 20, _image, frozenset({"ipynb"})),
    KindSpec("data-uri-image", False, "negative", 12, _data_uri, frozenset({"md", "js", "ts"})),
    _neg(
        "stripe-publishable",
        lambda r: "pk_live_" + pick(r, ALNUM, r.choice([24, 99])),
        ("STRIPE_PUBLISHABLE_KEY", "publishableKey", "NEXT_PUBLIC_STRIPE_KEY"),
    ),
    _neg(
        "google-oauth-client-id",
        lambda r: f"{pick(r, DIGITS, 12)}-{pick(r, LOWER + DIGITS, 32)}.apps.googleusercontent.com",
        ("GOOGLE_CLIENT_ID", "client_id", "googleClientId"),
    ),
    _neg("lookalike-prefix", _lookalike, ("task_id", "risk_token", "mask", "request_name")),
    _neg("lookalike-identifier", _identifier, ("handler", "repo_url", "callback", "docs")),
    KindSpec("pem-public", False, "negative", 16, _public, PEM_TYPES),
    _neg("ssh-public-key", _ssh_public, ("authorized_key", "SSH_PUBLIC_KEY", "deploy_key_pub")),
    KindSpec("fake-fixture", False, "negative", 20, _fake_fixture),
    _neg("db-url-no-password", _db_url_safe, ("DATABASE_URL", "database_url", "REDIS_URL")),
    _neg(
        "code-not-secret",
        _choice(
            [
                'getpass.getpass("Password: ")',
                "None",
                '""',
                'request.form["password"]',
                "settings.api_key",
                'load_secret("prod/app/openai")',
                'keyring.get_password("openai", user)',
                "args.token",
            ]
        ),
        ("password", "api_key", "secret", "token", "OPENAI_API_KEY"),
        style="expr",
        types=CODE_TYPES,
    ),
)

KINDS: dict[str, KindSpec] = {spec.name: spec for spec in (*POSITIVES, *NEGATIVES)}
