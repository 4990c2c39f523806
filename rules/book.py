"""A rules folder read as a whole: brands, their merged rules, their config, one version.

    rules/
      default/brand.yaml     policy pack, caps, budgets every brand starts from
      default/*.yaml         rule files every brand gets
      default/cases/*.yaml   golden cases for them
      acme/brand.yaml        acme's own config (overrides default's, key by key)
      acme/*.yaml            acme's rules: a rule with a default rule's id replaces it
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from rules.format import Problem, Problems, Rule, RuleFileError, line_of, load_yaml, parse_rule_file
from rules.policy import BrandConfig

DEFAULT = "default"
BRAND_FILE = "brand.yaml"
CASES_FOLDER = "cases"


@dataclass(frozen=True)
class BrandRules:
    brand: str
    config: BrandConfig
    rules: tuple[Rule, ...]  # enabled rules, in the order they are considered

    def for_trigger(self, trigger: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.trigger == trigger)


@dataclass(frozen=True)
class RuleBook:
    root: Path
    version: str
    brands: dict[str, BrandRules] = field(default_factory=dict)

    def for_brand(self, brand: str) -> BrandRules:
        """A brand without a folder of its own runs the default rules."""
        return self.brands.get(brand) or self.brands[DEFAULT]


def brand_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def rule_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.name != BRAND_FILE)


def load_book(root: Path) -> RuleBook:
    """Read and check every file; raise RuleFileError listing every problem found."""
    root = root.resolve()
    if not (root / DEFAULT).is_dir():
        raise RuleFileError([Problem(str(root), 0, "", "default", "no default/ folder: every rules folder needs one")])
    problems: list[Problem] = []
    parsed: dict[str, list[Rule]] = {}
    configs: dict[str, dict] = {}
    for folder in brand_folders(root):
        rules: list[Rule] = []
        seen: dict[str, Rule] = {}
        for path in rule_files(folder):
            found, wrong = parse_rule_file(path, _shown(path, root))
            problems += wrong
            for rule in found:
                if rule.id in seen:
                    first = seen[rule.id]
                    problems.append(Problem(rule.file, rule.line, rule.id, "id",
                                            f"duplicate id: also at {first.file}:{first.line}"))
                seen[rule.id] = rule
                rules.append(rule)
        parsed[folder.name] = rules
        configs[folder.name] = _read_config(folder, root, problems)

    brands: dict[str, BrandRules] = {}
    for name in parsed:
        merged = _merged(configs[DEFAULT], configs[name]) if name != DEFAULT else configs[DEFAULT]
        try:
            config = BrandConfig.model_validate(merged)
        except ValidationError:
            continue  # reported when the file was read
        by_id = {r.id: r for r in parsed[DEFAULT]}
        if name != DEFAULT:
            by_id.update({r.id: r for r in parsed[name]})
        rules = tuple(sorted((r for r in by_id.values() if r.enabled), key=lambda r: r.order))
        problems += _unreachable(rules) + _over_caps(rules, config, name)
        brands[name] = BrandRules(name, config, rules)

    if problems:
        raise RuleFileError(sorted(set(problems)))
    return RuleBook(root=root, version=version_of(root), brands=brands)


def version_of(root: Path) -> str:
    """A short hash of every rule and config file: recorded with each decision."""
    digest = hashlib.sha256()
    for folder in brand_folders(root):
        for path in [*rule_files(folder), folder / BRAND_FILE]:
            if path.exists():
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _merged(base: dict, override: dict) -> dict:
    """A brand's config over the default's, key by key at every level."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def _shown(path: Path, root: Path) -> str:
    return str(Path(root.name) / path.relative_to(root))


def _read_config(folder: Path, root: Path, problems: list[Problem]) -> dict:
    path = folder / BRAND_FILE
    if not path.exists():
        return {}
    shown = _shown(path, root)
    data = load_yaml(path) or {}
    try:
        BrandConfig.model_validate(data)
    except ValidationError as invalid:
        report = Problems(shown)
        for error in invalid.errors(include_url=False, include_input=False):
            loc = [str(p) for p in error["loc"]]
            node = data.get(loc[0]) if isinstance(data, dict) and loc and len(loc) > 1 else data
            report.add(line_of(node, loc[-1] if loc else None, 1), "", ".".join(loc) or "brand", error["msg"])
        problems += report.found
        return {}
    return dict(data)


def _unreachable(rules: tuple[Rule, ...]) -> list[Problem]:
    """A `stop` rule with no conditions always fires: nothing after it can."""
    problems = []
    stopper: dict[tuple[str, str], Rule] = {}
    for rule in rules:
        blocker = stopper.get((rule.trigger, rule.step))
        if blocker:
            problems.append(Problem(rule.file, rule.line, rule.id, "priority",
                                    f"unreachable: rule {blocker.id} ({blocker.file}:{blocker.line}) "
                                    "always fires first and has stop: true"))
        elif rule.stop and rule.when is None:
            stopper[(rule.trigger, rule.step)] = rule
    return problems


def _over_caps(rules: tuple[Rule, ...], config: BrandConfig, brand: str) -> list[Problem]:
    cap = config.caps.bonus_amount
    problems = []
    for rule in rules:
        for i, action in enumerate(rule.then):
            bonus = action.bonus
            if bonus is None:
                continue
            largest = bonus.amount if bonus.amount is not None else bonus.cap
            if largest is None:
                problems.append(Problem(rule.file, rule.line, rule.id, f"then[{i}].bonus.cap",
                                        f"a percent bonus needs a cap (brand {brand} allows at most {cap})"))
            elif largest > cap:
                field_name = "amount" if bonus.amount is not None else "cap"
                problems.append(Problem(rule.file, rule.line, rule.id, f"then[{i}].bonus.{field_name}",
                                        f"{largest} is over brand {brand}'s bonus cap of {cap}"))
    return problems
