"""The rules in force, reloaded when the files change; a broken change keeps the last good rules."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from rules.book import load_book, version_of
from rules.engine import CompiledRules
from rules.format import RuleFileError

log = logging.getLogger(__name__)

SHIPPED_RULES = Path(__file__).resolve().parent


class RuleRegistry:
    def __init__(self, root: Path, check_every: float = 2.0) -> None:
        self.root = root
        self._check_every = check_every
        self._lock = threading.Lock()
        self._compiled = CompiledRules(load_book(root))  # the first load must succeed
        self._seen_version = self._compiled.book.version
        self._checked_at = time.monotonic()
        self.last_error: RuleFileError | None = None

    def current(self) -> CompiledRules:
        """The rules in force; looks at the files at most every `check_every` seconds."""
        if time.monotonic() - self._checked_at >= self._check_every:
            self.reload()
        return self._compiled

    def reload(self) -> bool:
        """Load the files if they changed; return True when new rules took effect."""
        with self._lock:
            self._checked_at = time.monotonic()
            version = version_of(self.root)
            if version == self._seen_version:
                return False
            self._seen_version = version  # a broken version is reported once, not every check
            try:
                compiled = CompiledRules(load_book(self.root))  # compiling leaks a little: only on change
            except RuleFileError as broken:
                self.last_error = broken
                log.error("rule files refused, keeping version %s:\n%s", self._compiled.book.version, broken)
                return False
            self._compiled, self.last_error = compiled, None
            log.info("rules version %s in force", compiled.book.version)
            return True
