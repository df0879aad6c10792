"""Adversarial inputs for regular expressions, and a growth check that times a pattern on them at growing sizes.

A backtracking engine (Python's ``re``) can take quadratic or exponential time on text shaped against a pattern:
runs of the characters a quantifier eats, words of an alternation repeated with separators, openers without their
closer. Every generator takes a size ``n`` (characters, roughly) so tests and bench/hostile.py can grow it; the
promise each tests is "this pattern's running time grows near-linearly with the text", which the stage sandbox does
not have to rescue.

``pattern_inputs(pattern, n)`` returns the generic set plus inputs built from the pattern's own literals and
character classes (so the ``"share," * n + "x"`` shape against the old boilerplate furniture regex comes out of the
pattern itself). ``discover_patterns()`` finds every compiled pattern held at module level in ``stages`` and
``pipeline`` (module globals, one level into containers, class attributes, bound pattern methods).
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

try:  # the packs' pre-tokenizer uses the third-party engine; its patterns are checked too
    import regex as _regex
except ImportError:  # pragma: no cover - regex is a dependency
    _regex = None


def _fit(unit: str, n: int, tail: str = "") -> str:
    """``unit`` repeated to about ``n`` characters, then ``tail``."""
    return unit * max(1, n // max(1, len(unit))) + tail


# --- generic shapes -------------------------------------------------------------------------------------------------


def repeated_word(n: int, word: str = "share", sep: str = ",", tail: str = "x") -> str:
    """``word`` + ``sep`` repeated, then a tail that breaks a whole-string match (the boilerplate furniture attack:
    ``"share," * 21 + "x"`` took 34 s in the old ``_FURNITURE_RE``)."""
    return _fit(word + sep, n, tail)


def char_run(n: int, char: str = " ", tail: str = "x") -> str:
    """One character repeated, then a tail: what ``\\s*...\\s*`` or ``\\w+\\w+`` pairs backtrack over."""
    return char * n + tail


def dotted(n: int, unit: str = "aaaaaa1.") -> str:
    """Dotted runs like ``"aaaaaa1." * k`` (the e-mail pattern's quadratic case), no ``@`` anywhere."""
    return _fit(unit, n, "@")


def nested_brackets(n: int, open_: str = "(", close: str = ")") -> str:
    """Openers then closers: nested groups, each opener searching to the end for its closer."""
    k = max(1, n // 2)
    return open_ * k + close * (k - 1)


def unclosed_tags(n: int, opener: str = '<a href="x">') -> str:
    """Openers with no closer (``<a href>`` without ``</a>``): a lazy ``.*?</a>`` scans to the end from each."""
    return _fit(opener, n, "x")


def lines(n: int, line: str = " \t ") -> str:
    """Many lines made only of blanks: line-anchored and paragraph-splitting patterns."""
    return _fit(line + "\n", n, "x")


def digits(n: int, unit: str = "1") -> str:
    """Digit runs and digit-separator runs (``1.1.1.``, ``12 12 12``): date and phone shapes."""
    return _fit(unit, n, "x")


def generic_inputs(n: int) -> dict[str, str]:
    """Shapes that hurt many backtracking patterns, each about ``n`` characters."""
    return {
        "share_comma_x": repeated_word(n),
        "share_space_x": repeated_word(n, "share", " "),
        "spaces_x": char_run(n, " "),
        "nbsp_x": char_run(n, "\u00a0"),
        "newlines_x": char_run(n, "\n"),
        "letters_bang": char_run(n, "a", "!"),
        "digits_x": digits(n),
        "digit_dots": digits(n, "1."),
        "digit_spaces": digits(n, "12 "),
        "dotted": dotted(n),
        "a_dot": _fit("a.", n, "@"),
        "dash_words": _fit("a-", n, "-"),
        "parens": nested_brackets(n),
        "angles": nested_brackets(n, "<", ">"),
        "unclosed_a": unclosed_tags(n),
        "unclosed_a_open": unclosed_tags(n, '<a href="'),
        "a_spaces": _fit("<a ", n, "x"),
        "blank_lines": lines(n),
        "colons": char_run(n, ":", "x"),
        "lt_run": char_run(n, "<", "x"),
        "unclosed_li": _fit("<li", n, "x"),
        "hashes": char_run(n, "#", " "),
        "punct": _fit(",.;!? -", n, "x"),
        "word_punct": _fit("ab,", n, "x"),
    }


# --- shapes built from a pattern ------------------------------------------------------------------------------------


def _walk(parsed: Any) -> Iterator[tuple[Any, Any]]:
    """(opcode, argument) of every node of an ``re`` parse tree, depth first."""
    for op, arg in parsed:
        yield op, arg
        items = arg if isinstance(arg, (list, tuple)) else (arg,)
        for item in items:
            if hasattr(item, "data") or (isinstance(item, list) and item and isinstance(item[0], tuple)):
                yield from _walk(item)
            elif isinstance(item, (list, tuple)):
                for sub in item:
                    if hasattr(sub, "data"):
                        yield from _walk(sub)


def pattern_atoms(source: str, flags: int = 0) -> tuple[list[str], list[str]]:
    """Literal runs (the words of alternations) and sample characters of the classes in a pattern's source."""
    from re import _constants as c  # type: ignore[attr-defined]  # the stdlib parser: no hand-rolled regex parsing
    from re import _parser as p  # type: ignore[attr-defined]

    try:
        tree = p.parse(source, flags & ~re.DEBUG)
    except re.error:  # a pattern only the third-party engine parses (``\p{L}``): generic inputs only
        return [], []
    words: list[str] = []
    chars: set[str] = set()

    def literals(seq: Any) -> None:
        run = ""
        for op, arg in seq:
            if op is c.LITERAL:
                run += chr(arg)
                continue
            if len(run) >= 2:
                words.append(run)
            run = ""
            if op is c.IN:
                for kind, val in arg:
                    if kind is c.LITERAL:
                        chars.add(chr(val))
                    elif kind is c.RANGE:
                        chars.add(chr(val[0]))
                    elif kind is c.CATEGORY:
                        chars.update(
                            {"CATEGORY_DIGIT": "1", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "a"}.get(str(val), ",")
                        )
            elif op is c.BRANCH:
                for branch in arg[1]:
                    literals(branch)
            elif op is c.SUBPATTERN:
                literals(arg[-1])
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                literals(arg[2])
            elif op in (c.ASSERT, c.ASSERT_NOT):
                literals(arg[1])
        if len(run) >= 2:
            words.append(run)

    literals(tree)
    return sorted(set(words))[:40], sorted(chars)[:20]


def pattern_inputs(pattern: Any, n: int) -> dict[str, str]:
    """``generic_inputs(n)`` plus inputs made of the pattern's own words and class characters."""
    inputs = generic_inputs(n)
    words, chars = pattern_atoms(pattern.pattern, pattern.flags) if isinstance(pattern.pattern, str) else ([], [])
    for i, word in enumerate(words[:6]):
        for j, sep in enumerate((",", " ", "")):
            inputs[f"word{i}_sep{j}"] = repeated_word(n, word, sep, "x")
    if words:
        joined = " ".join(words)
        inputs["all_words"] = _fit(joined + " ", n, "x")
    for i, ch in enumerate(chars[:8]):
        inputs[f"class{i}"] = char_run(n, ch, "x" if ch != "x" else "!")
    if isinstance(pattern.pattern, bytes):  # byte patterns (raw HTML sniffing) get the same shapes as UTF-8
        return {name: text.encode("utf-8", "surrogatepass") for name, text in inputs.items()}  # type: ignore[misc]
    return inputs


# --- timing ----------------------------------------------------------------------------------------------------


def _ops(pattern: Any) -> tuple[tuple[str, Callable[[str], Any]], ...]:
    """How stages use patterns: anchored match, and every match in turn (search, findall, sub and split scan alike)."""
    return (("match", pattern.match), ("finditer", lambda s: sum(1 for _ in pattern.finditer(s))))


def best_time(fn: Callable[[Any], Any], text: Any, repeats: int = 3) -> float:
    """Best of ``repeats`` calls, with the garbage collector off so a collection is not timed as growth."""
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            fn(text)
            best = min(best, time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return best


SIZES = (2000, 8000, 32000)
PROBE = (16, 24, 32, 48, 64, 96, 128, 192)  # small steps: exponential backtracking stops here after a short call


def measure_growth(
    pattern: Any,
    sizes: tuple[int, ...] = SIZES,
    probe: tuple[int, ...] = PROBE,
    probe_limit_s: float = 0.05,
    repeats: int = 3,
    ops: tuple[str, ...] = ("match", "finditer"),
) -> list[dict[str, Any]]:
    """Per (input shape, operation): best-of-``repeats`` seconds at each size. The small ``probe`` sizes go first and
    stop a shape whose single call passes ``probe_limit_s`` (exponential backtracking), so no call runs long."""
    rows: list[dict[str, Any]] = []
    inputs = {n: pattern_inputs(pattern, n) for n in probe + sizes}
    for op_name, op in _ops(pattern):
        if op_name not in ops:
            continue
        for name in inputs[sizes[0]]:
            row: dict[str, Any] = {"input": name, "op": op_name, "times": {}, "exploded": False}
            for n in probe:
                t = best_time(op, inputs[n][name], 1)
                if t > probe_limit_s:
                    row["exploded"] = True
                    row["times"][n] = t
                    rows.append(row)
                    return rows  # one exponential shape is the verdict; more would only cost time
            if not row["exploded"]:
                for n in sizes:
                    row["times"][n] = best_time(op, inputs[n][name], repeats)
            rows.append(row)
    return rows


# --- discovery ----------------------------------------------------------------------------------------------------


def _is_pattern(obj: Any) -> bool:
    if isinstance(obj, re.Pattern):
        return True
    if _regex is not None and isinstance(obj, _regex.Pattern):
        return True
    return type(obj).__module__.startswith("re2") and hasattr(obj, "pattern") and hasattr(obj, "search")


def _patterns_in(obj: Any) -> Iterator[tuple[str, Any]]:
    """Patterns held by ``obj``: itself, its bound pattern method's owner, or items of a container."""
    if _is_pattern(obj):
        yield "", obj
        return
    owner = getattr(obj, "__self__", None)
    if owner is not None and _is_pattern(owner):
        yield "", owner
        return
    if isinstance(obj, dict):
        for key, val in list(obj.items())[:1000]:
            for suffix, pat in _patterns_in_shallow(val):
                yield f"[{key!r}]{suffix}", pat
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, val in enumerate(list(obj)[:1000]):
            for suffix, pat in _patterns_in_shallow(val):
                yield f"[{i}]{suffix}", pat


def _patterns_in_shallow(obj: Any) -> Iterator[tuple[str, Any]]:
    if _is_pattern(obj):
        yield "", obj
    elif getattr(obj, "__self__", None) is not None and _is_pattern(obj.__self__):
        yield "", obj.__self__


def discover_patterns(
    packages: tuple[str, ...] = ("sovereign.stages", "sovereign.pipeline"),
) -> tuple[dict[str, Any], dict[str, str]]:
    """``{"module.NAME": pattern}`` for every compiled pattern at module or class level under ``packages``, and
    ``{module: error}`` for modules that failed to import (an optional dependency missing)."""
    found: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for package_name in packages:
        package = importlib.import_module(package_name)
        modules = [package_name] + [
            m.name for m in pkgutil.walk_packages(package.__path__, package_name + ".", onerror=lambda _name: None)
        ]
        for module_name in modules:
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:  # noqa: BLE001 - record and go on: the caller decides which are allowed
                failed[module_name] = type(exc).__name__
                continue
            for attr, value in list(vars(module).items()):
                if isinstance(value, type) and value.__module__ == module_name:
                    for cattr, cvalue in list(vars(value).items()):
                        for suffix, pat in _patterns_in(cvalue):
                            found[f"{module_name}.{attr}.{cattr}{suffix}"] = pat
                    continue
                if getattr(value, "__module__", module_name) != module_name and not _is_pattern(value):
                    if getattr(value, "__self__", None) is None:
                        continue  # imported from elsewhere: checked where it is defined
                for suffix, pat in _patterns_in(value):
                    found[f"{module_name}.{attr}{suffix}"] = pat
    # The same object reached under two names (re-exports) is checked once, under its first name.
    unique: dict[str, Any] = {}
    seen: set[int] = set()
    for name in sorted(found):
        if id(found[name]) not in seen:
            seen.add(id(found[name]))
            unique[name] = found[name]
    return unique, failed
