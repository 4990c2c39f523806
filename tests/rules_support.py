"""Building rule folders in a test: a default brand plus whatever the test writes."""

from __future__ import annotations

import textwrap
from pathlib import Path

from rules.book import load_book
from rules.engine import CompiledRules


def write_rules(root: Path, files: dict[str, str], brand_yaml: str = "policy: default\n") -> Path:
    (root / "default").mkdir(parents=True, exist_ok=True)
    (root / "default" / "brand.yaml").write_text(brand_yaml)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def compile_rules(root: Path, files: dict[str, str], brand_yaml: str = "policy: default\n") -> CompiledRules:
    return CompiledRules(load_book(write_rules(root, files, brand_yaml)))


def one_rule(when: str, trigger: str = "deposit", then: str = "- none") -> str:
    """A rule file with one rule whose `when:` is the given YAML block."""
    return (
        "rules:\n  - id: r\n    description: test rule\n    trigger: " + trigger + "\n"
        + "    when:\n" + textwrap.indent(textwrap.dedent(when).strip(), "      ") + "\n"
        + "    then:\n" + textwrap.indent(textwrap.dedent(then).strip(), "      ") + "\n"
    )
