"""Read ``cubeops.yaml`` into a :class:`~flows.spec.ProjectSpec`, with line-numbered errors.

Every problem becomes one line naming the YAML path and its line:
``train.learning_rate (line 14): must be greater than 0``.
"""

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from flows.errors import SpecError
from flows.spec import ProjectSpec

DEFAULT_SPEC = "cubeops.yaml"


# A real spec is a few levels deep and has a few hundred lines; anything far beyond is refused
# with a message instead of a RecursionError, and its problems are listed up to a point.
MAX_PROBLEMS = 20
MAX_PROBLEM_CHARS = 300


def _index_lines(
    node: yaml.Node, path: tuple = (), out: dict | None = None, seen: set[int] | None = None
) -> dict[tuple, int]:
    """Map every YAML path (a tuple of keys and indexes) to the 1-based line where it starts.

    A node reached again through an alias is not walked twice: nested aliases (a "billion
    laughs" file) would otherwise cost exponential time and memory.
    """
    out = {} if out is None else out
    seen = set() if seen is None else seen
    out.setdefault(path, node.start_mark.line + 1)
    if id(node) in seen:
        return out
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _index_lines(value_node, path + (key,), out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, path + (i,), out, seen)
    return out


def _duplicate_keys(node: yaml.Node, path: tuple = (), seen: set[int] | None = None) -> list[str]:
    """One problem per key given twice in the same mapping (YAML loaders silently keep the last)."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return []
    seen.add(id(node))
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is not None and key != "<<":
                if key in first:
                    dotted = ".".join(str(p) for p in path + (key,))
                    problems.append(f"{dotted} (line {line}): is given twice (first on line {first[key]})")
                else:
                    first[key] = line
            problems += _duplicate_keys(value_node, path + (key,), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, path + (i,), seen)
    return problems


def _line_for(lines: dict[tuple, int], loc: tuple) -> int | None:
    """The line of ``loc``, or of its nearest ancestor present in the file."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that holds the field at ``loc`` (for "did you mean" hints)."""
    model: Any = ProjectSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for sub in candidates:
            for inner in [sub, *getattr(sub, "__args__", ())]:
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    model = inner
                    break
            else:
                continue
            break
        else:
            return None
    return model


def _friendly(err: dict) -> str:
    """Pydantic's message, lower-cased the way a sentence continues after a colon."""
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if err["type"] == "missing":
        return "is required"
    if err["type"] == "extra_forbidden":
        return "is not a known key"
    msg = msg.replace("Input should be", "must be").replace("input should be", "must be")
    return msg[:1].lower() + msg[1:]


def _describe(err: dict, lines: dict[tuple, int]) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # Discriminated and annotated wrappers add type names to the location; keep only real keys.
    loc = tuple(p for p in loc if isinstance(p, int) or not p[:1].isupper())
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    # A missing key has no line of its own; point at its section, or at nothing for a top-level key.
    line = _line_for(lines, loc) if err["type"] != "missing" or len(loc) > 1 else None
    where = f"{dotted} (line {line})" if line else dotted
    message = _friendly(err)
    if err["type"] == "extra_forbidden":
        model = _model_at(loc)
        if model is not None:
            close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
            if close:
                message += f"; did you mean {close[0]!r}?"
            else:
                message += f"; known keys: {', '.join(model.model_fields)}"
    if len(message) > MAX_PROBLEM_CHARS:
        # Messages quote the value; a 10 MB value must not become a 10 MB message.
        message = message[: MAX_PROBLEM_CHARS - 1] + "…"
    return f"{where}: {message}"


def parse_spec(text: str, source: str = DEFAULT_SPEC) -> ProjectSpec:
    """Validate spec text; raise :class:`SpecError` listing every problem with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(source, [f"malformed YAML at {where}: {problem}"]) from None
    except RecursionError:
        raise SpecError(source, ["nested too deeply to be a spec (sections are a few levels deep)"]) from None
    except (ValueError, OverflowError) as exc:
        # Well-formed YAML whose value cannot be built: a date such as 2024-13-45, or an integer
        # of more digits than Python converts.
        reason = str(exc).split(";")[0].split(":")[0]
        raise SpecError(source, [f"a value cannot be read ({reason}); quote it if it is meant as text"]) from None
    if data is None:
        raise SpecError(source, ["the file is empty; it needs at least `project: OWNER/NAME`"])
    if not isinstance(data, dict):
        raise SpecError(source, [f"(line 1): the spec must be a mapping of sections, not a {type(data).__name__}"])
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise SpecError(source, [f"top-level key {bad_keys[0]!r} must be a string"])
    duplicates = _duplicate_keys(node) if node is not None else []
    if duplicates:
        raise SpecError(source, _capped(duplicates))
    lines = _index_lines(node) if node is not None else {}
    try:
        return ProjectSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(source, _capped(_unique(_describe(e, lines) for e in exc.errors()))) from None
    except RecursionError:
        raise SpecError(source, ["nested too deeply to be a spec (sections are a few levels deep)"]) from None


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def _capped(problems: list[str]) -> list[str]:
    """The first problems, and how many more: a list of a million wrong items is one mistake."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more problems"]


def load_spec(path: str | Path = DEFAULT_SPEC) -> ProjectSpec:
    """Read and validate the spec file at ``path``."""
    p = Path(path)
    if p.is_dir():
        p = p / DEFAULT_SPEC
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(p), ["no such file; run `cubeops init` to create one, or pass -c FILE"]) from None
    except UnicodeDecodeError as exc:
        raise SpecError(str(p), [f"not UTF-8 text (byte offset {exc.start})"]) from None
    except OSError as exc:
        raise SpecError(str(p), [f"cannot be read: {exc.strerror}"]) from None
    return parse_spec(text, str(p))
