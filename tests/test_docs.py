"""Documentation that is generated from code stays in sync with it."""

from pathlib import Path

from touchpath.config import settings_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_settings_reference_is_current() -> None:
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == settings_markdown(), (
        "regenerate with: touchpath settings --markdown > docs/settings.md"
    )


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme[: readme.index("## What works today")]
    assert "make run" in head and "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
