"""`.env.example` rendered from the settings classes, and `.env` made from it.

The example is generated so it can never drift from the code: a test renders it
and compares it with the committed file. Secret settings are left empty there;
`ensure_env_file` fills them with random values the first time a `.env` is made,
so a fresh checkout runs without anyone inventing passwords, and none is committed.
"""

from __future__ import annotations

import secrets
from enum import Enum
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from fraudlake import settings as settings_module

HEADER = """\
# fraudlake settings. Copy to .env (`make up` does it for you, generating the
# empty secrets below) and edit. Every variable can also be set in the environment,
# which wins over .env. docker compose reads the same file.
# Regenerate this file after adding a setting: `fraudlake env example > .env.example`.
"""


def _is_secret(field) -> bool:
    return field.annotation is SecretStr


def _default_text(field) -> str:
    if _is_secret(field) or field.is_required():
        return ""
    default = field.get_default(call_default_factory=True)
    if default is None:
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, Enum):  # str() of a str-Enum is "Class.NAME" before Python 3.11's StrEnum
        return str(default.value)
    text = str(default)
    home = str(Path.home())
    if text.startswith(home):
        text = "~" + text[len(home):]
    return text


def render_example(classes: tuple[type[BaseSettings], ...] | None = None) -> str:
    classes = classes or settings_module.ALL_SETTINGS
    out = [HEADER]
    for cls in classes:
        title = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
        out.append(f"\n# --- {cls.__name__.removesuffix('Settings')}: {title}\n" if cls.__doc__ else
                   f"\n# --- {cls.__name__.removesuffix('Settings')}\n")
        for name, field in cls.model_fields.items():
            note = field.description or ""
            if _is_secret(field):
                note += " Secret: left empty here, generated into .env by `make up`."
            out.append(f"# {note}\n{name.upper()}={_default_text(field)}\n")
    return "".join(out)


def secret_names(classes: tuple[type[BaseSettings], ...] | None = None) -> set[str]:
    classes = classes or settings_module.ALL_SETTINGS
    return {name.upper() for cls in classes for name, field in cls.model_fields.items() if _is_secret(field)}


def ensure_env_file(env_path: Path, example_path: Path | None = None) -> bool:
    """Create `env_path` from the example with generated secrets; True if it was created.

    Without `example_path` the example is rendered from the settings (what the committed
    .env.example holds, tested), so an installed fraudlake needs no checkout for it.

    An existing file is kept, but a secret missing from it (a setting added since) is
    appended, so upgrading a checkout never leaves a required secret unset.
    """
    created = not env_path.exists()
    if not created:
        lines = env_path.read_text().splitlines()
    else:
        lines = (example_path.read_text() if example_path else render_example()).splitlines()
    present = {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}
    filled = []
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and key in secret_names() and not value:
            line = f"{key}={secrets.token_urlsafe(18)}"
        filled.append(line)
    for key in sorted(secret_names() - present):
        filled.append(f"{key}={secrets.token_urlsafe(18)}")
    env_path.parent.mkdir(parents=True, exist_ok=True)
    env_path.write_text("\n".join(filled) + "\n")
    env_path.chmod(0o600)
    return created
