"""The README's settings reference names every setting, and the original system's names still work."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices

from smartworker.config import Settings, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def variables() -> set[str]:
    """Every environment variable Settings reads, aliases included."""
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices), field
        names |= {str(choice) for choice in alias.choices if str(choice).isupper()}
    return names


def reference() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Settings reference")
    end = text.find("\n## ", start)
    return text[start:end if end != -1 else None]


def test_every_setting_is_in_the_readme_reference() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", reference()))
    missing = sorted(variables() - documented)
    assert missing == [], f"settings missing from README's settings reference: {missing}"


def test_the_original_smtp_names_are_accepted() -> None:
    settings = Settings(**{"APP_SMTP_USER": "mailer", "APP_SMTP_PASS": "s3cret", "APP_SMTP_TO_USER": "dev@example.com"})
    assert (settings.smtp_user, settings.smtp_password, settings.smtp_to) == ("mailer", "s3cret", "dev@example.com")


def test_the_default_data_dir_is_absolute_and_a_relative_one_is_made_absolute(tmp_path: Path) -> None:
    assert load_settings().data_dir.is_absolute()
    assert load_settings(data_dir=Path("rel/data")).data_dir.is_absolute()
