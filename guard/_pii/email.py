"""E-mail addresses, validated offline: stock Presidio's check calls tldextract, which fetches the
public-suffix list over the network on first use; here the top-level domain is checked by shape."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

# Top-level domains that are really file extensions ("icon@2x.png" is an asset name, not a mailbox).
_FILE_TLDS = frozenset(
    {
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "ico",
        "css",
        "js",
        "ts",
        "json",
        "txt",
        "yaml",
        "yml",
        "html",
        "pdf",
        "zip",
        "lock",
    }
)


class ProdguardEmailRecognizer(PatternRecognizer):
    """Email addresses; the top-level domain is checked offline (letters, 2-24 long, not a file type)."""

    PATTERN = (
        r"(?<![\w.+%-])[\w.+%-]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,24}|xn--[\w-]{1,59})"
        r"(?![\w@-]|\.[^\W_])"
    )

    def __init__(self) -> None:
        super().__init__(
            supported_entity="EMAIL_ADDRESS",
            name="ProdguardEmailRecognizer",
            patterns=[Pattern("email", self.PATTERN, 0.5)],
            context=["email", "mail", "e-mail", "contact", "write"],
        )

    def validate_result(self, pattern_text: str) -> bool:
        local, _, domain = pattern_text.rpartition("@")
        if local.startswith(".") or local.endswith(".") or ".." in local:
            return False
        return domain.rsplit(".", 1)[-1].lower() not in _FILE_TLDS
