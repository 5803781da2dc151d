"""Fail if a tracked file holds a secret: a private key, a cloud or service token, a password in a URL
or a high-entropy literal assigned to a key, secret, token or password.

    python scripts/scan_secrets.py          # every file `git ls-files` lists; exit 1 on a finding

Not every match is a secret. What passes, and why:
- a value that is readable text once base64-decoded (every part of it): real key material is random
  bytes, so ``ZGV2ZWxvcG1lbnQtb25seS1...`` ("development-only-...", the units' development keys,
  refused outside ENVIRONMENT=development) is a placeholder;
- a password in a URL that is a placeholder (``guest``, ``secret``, ``{password}``, ``${VAR}``, ``...``);
- the private keys in ``DOCUMENTED_KEYS``, by the SHA-256 of their body, each with its reason.
A finding prints the file, the line and the rule, never the value itself.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_BYTES = 2 * 1024 * 1024  # bigger tracked files are data (region lists, fonts)

# SHA-256 of a private key's base64 body (newlines and escaped newlines removed) -> why it may stay.
DOCUMENTED_KEYS = {
    "35138d8e2fc001fbb14ea64418e07a144f52b8fe6da8844c307a62b2f5c97086":
        "the gateway's development JWT key (DEVELOPMENT_JWT_PRIVATE_KEY, deploy/compose.env.example): "
        "GatewaySettings refuses it unless ENVIRONMENT=development",
}

PEM_KEY = re.compile(r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
                     r"(?P<body>(?:.|\n){0,6000}?)-----END \1-----")
TOKENS = {
    "aws_access_key_id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "github_token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
    "slack_token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "google_api_key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "stripe_secret_key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}"),
    # Our own refresh and device tokens (bimtek_gateway.identity): a real one must never be committed.
    "bimtek_token": re.compile(r"\bbk[rd]_[A-Za-z0-9_\-]{24,}"),
}
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^/\s:@\"'`]+:(?P<value>[^/\s@\"'`]+)@")
PLACEHOLDER_PASSWORDS = {"guest", "secret", "s3cret", "password", "pass", "p", "changeme", "example"}
ASSIGNED = re.compile(
    r"(?i)(?:password|passwd|secret|api[_\-]?key|access[_\-]?key|private[_\-]?key|token|signing[_\-]?keys?"
    r"|encryption[_\-]?key|lookup[_\-]?key|credentials?)[a-z0-9_\-]*[\"']?\s*[:=]\s*[rbu]?"
    r"(?P<quote>[\"']?)(?P<value>[A-Za-z0-9+/=_\-.:,]{16,})(?P=quote)")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}"


def tracked_files(root: Path = ROOT) -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True).stdout
    return [root / name for name in names.decode().split("\0") if name]


def scan_text(path: str, text: str) -> Iterator[Finding]:
    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    # Escaped newlines count as newlines: a key on one line of an env file is a key too.
    cursor = 0
    for match in PEM_KEY.finditer(text.replace("\\n", "\n")):
        cursor = text.find(f"-----BEGIN {match.group(1)}-----", cursor) + 1  # the same key in the original
        if key_fingerprint(match.group("body")) not in DOCUMENTED_KEYS:
            yield Finding(path, line_of(cursor), f"private key ({match.group(1)})")
    for rule, pattern in TOKENS.items():
        for match in pattern.finditer(text):
            if not is_readable_placeholder(match.group(0)):
                yield Finding(path, line_of(match.start()), rule)
    for match in URL_PASSWORD.finditer(text):
        if not is_placeholder_password(match.group("value")):
            yield Finding(path, line_of(match.start()), "password in a URL")
    for match in ASSIGNED.finditer(text):
        value = match.group("value")
        if looks_random(value) and not is_readable_placeholder(value):
            yield Finding(path, line_of(match.start()), "high-entropy value assigned to a secret's name")


def key_fingerprint(body: str) -> str:
    return hashlib.sha256(re.sub(r"\s+", "", body).encode()).hexdigest()


def is_placeholder_password(value: str) -> bool:
    """``guest``, ``{password}``, ``${VAR}``, ``...``, ``<password>``, ``PASSWORD``: shown, never used."""
    return (value.lower() in PLACEHOLDER_PASSWORDS or "{" in value or "$" in value
            or not any(c.isalnum() for c in value) or (value.startswith("<") and value.endswith(">"))
            or (value.isupper() and value.isalpha())
            or any(word in value.lower() for word in ("example", "demo-only", "development", "placeholder")))


def looks_random(value: str) -> bool:
    """Long, mixing letters and digits, and dense in information: a generated secret, not a word,
    a name or a setting (``DEVELOPMENT_NIK_LOOKUP_KEY``, ``bimtek_rate_limit_checks_total``)."""
    core = value.split(":", 1)[-1]  # "1:<base64>" key rings
    if len(core) < 16 or not re.search(r"[A-Za-z]", core) or not re.search(r"[0-9]", core):
        return False
    counts = Counter(core)
    entropy = -sum(n / len(core) * math.log2(n / len(core)) for n in counts.values())
    return entropy >= 3.5


def is_readable_placeholder(value: str) -> bool:
    """True when every base64 part of ``value`` decodes to printable text: made up by a person."""
    parts = [part for part in re.split(r"[.:,]", value) if part]
    return bool(parts) and all(_decodes_to_text(part) for part in parts if len(part) >= 8)


def _decodes_to_text(part: str) -> bool:
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            raw = decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            continue
        if text and all(32 <= ord(c) < 127 for c in text):
            return True
    return False


def scan(paths: Iterable[Path], root: Path = ROOT) -> list[Finding]:
    findings: list[Finding] = []
    for path in paths:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            content = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            continue  # deleted in the work tree, or a submodule
        if b"\0" in content[:8192]:
            continue  # binary (fonts, images)
        findings += scan_text(str(path.relative_to(root)), content.decode("utf-8", errors="replace"))
    return findings


def main() -> int:
    findings = scan(tracked_files())
    for finding in findings:
        print(finding, file=sys.stderr)
    if findings:
        print(f"secret scan: {len(findings)} finding(s); remove the secret (and rotate it), or, for an obviously "
              "fake value, make it one (see this script's docstring)", file=sys.stderr)
        return 1
    print("secret scan: no secrets in tracked files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
