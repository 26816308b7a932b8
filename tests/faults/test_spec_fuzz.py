"""Spec fuzzing: 500 mutated ``cubeops.yaml`` files, each refused with exit code 2 and one clear
message naming the file, never a traceback, a hang or a wall of text.

Every mutated file carries at least one mistake that makes it invalid by construction (an unknown
key, a value of the wrong type or out of range, a missing ``project``, broken YAML, bytes that
are not UTF-8, a key given twice, an alias bomb, nesting thousands of levels deep, ...), often on
top of random noise. The cases are generated from a fixed seed, so a failure names a file that
can be rebuilt and replayed.
"""

import contextlib
import io
import random
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from flows.cli import main
from tests.faults.conftest import child_env, cli

pytestmark = pytest.mark.faults

CASES = 500
SEED = 20240601
CASE_TIMEOUT_S = 20
MAX_MESSAGE_CHARS = 10_000

BASE = """\
project: acme/support-bot
visibility: private
description: Notes of the support desk.
data:
  sources:
    - data/
    - {path: more/*.jsonl, text_field: body}
  txt_documents: paragraph
  min_chars: 10
  max_chars: 20000
  validation_fraction: 0.1
  block_size: 64
  url_timeout: 30s
  url_max_bytes: 100MB
model:
  base: tiny-gpt2
  tiny: {n_layer: 2, n_embd: 64, n_head: 2, vocab_size: 1000, n_positions: 128}
train:
  max_steps: 60
  batch_size: 16
  learning_rate: 0.003
  warmup_steps: 5
  lr_scheduler: cosine
  eval_every: 20
  save_every: 20
  precision: fp32
  distributed: {nproc: 1, backend: auto}
eval:
  prompts: ["The data team", "Our support desk"]
  max_new_tokens: 16
  probes:
    - name: occupation
      prompts: {man: "The man worked as a", woman: "The woman worked as a"}
registry:
  model_name: support-bot
  metric: perplexity
  direction: minimize
  min_improvement: 0.02
serving:
  host: 127.0.0.1
  port: 5077
  auth: {token_env: CUBEOPS_SERVING_TOKEN}
  max_prompt_chars: 2000
  request_timeout: 60s
status:
  stale_after: 7d
  heartbeat_ttl: 2m
  webhooks: ["https://hooks.example.com/cubeops"]
schedule:
  cron: "0 3 * * *"
  timezone: Europe/Berlin
tracking:
  experiment: support-bot
  system_metrics: false
"""

# Values no field of any type accepts: scalars get containers, containers get the wrong container.
_NOT_A_SCALAR = [[1, 2], {"nested": "mapping"}, [[]], {"a": {"b": None}}]
_NOT_A_LIST = [{"a": 1}, 17, 3.5, True]
_NOT_A_MAPPING = [["a", "b"], 17, 2.5, True]
# Literal (choice) fields and a value none of them allows.
_CHOICES = [
    ("visibility",), ("data", "txt_documents"), ("train", "lr_scheduler"), ("train", "precision"),
    ("train", "device"), ("registry", "direction"), ("train", "distributed", "backend"), ("serving", "target"),
]
# Numeric fields and values past their bounds.
_OUT_OF_RANGE = [
    (("train", "learning_rate"), [0, -1, 1, 7.5]),
    (("train", "batch_size"), [0, -3, 5000]),
    (("train", "max_steps"), [0, -2]),
    (("data", "block_size"), [7, 0, 9000]),
    (("data", "validation_fraction"), [0, 1, 1.5, -0.1]),
    (("serving", "port"), [0, 65536, -1]),
    (("model", "tiny", "n_head"), [0, 17]),
    (("model", "tiny", "n_embd"), [65]),  # not a multiple of n_head
    (("eval", "max_new_tokens"), [0, 1025]),
    (("data", "min_chars"), [30000]),  # above max_chars
    (("status", "heartbeat_ttl"), ["soon", "5 parsecs", "-3m"]),
    (("schedule", "cron"), ["every day", "61 * * * *", "* * *"]),
    (("schedule", "timezone"), ["Mars/Olympus_Mons", "UTC+25"]),
    (("project",), ["acme", "/acme/bot", "acme/bot/extra", "ac me/bot", "acme/" + "b" * 300]),
    (("serving", "host"), ["0.0.0.0"]),  # with auth removed below: off-loopback without a token
]


def _leaves(node: object, path: tuple = ()) -> list[tuple]:
    """Every path to a scalar, list or mapping inside the parsed spec."""
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _leaves(v, path + (i,))
    return out


def _get(doc: dict, path: tuple) -> object:
    for part in path:
        doc = doc[part]
    return doc


def _set(doc: dict, path: tuple, value: object) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _dump(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _noise(rng: random.Random, doc: dict) -> None:
    """A change that may or may not be valid on its own (the case's real mistake is elsewhere)."""
    path = rng.choice(_leaves(doc))
    value = _get(doc, path)
    if isinstance(value, bool):
        _set(doc, path, not value)
    elif isinstance(value, (int, float)):
        _set(doc, path, value + rng.choice([1, 2, 10]))
    elif isinstance(value, str):
        _set(doc, path, value + rng.choice(["", " ", "-x", "é", "\u202e"]))


# -- the mistakes: each returns the text (or bytes) of an invalid spec --------------------------


def unknown_key(rng: random.Random, doc: dict) -> str:
    """A key no section knows, in a random mapping."""
    mappings = [()] + [p for p in _leaves(doc) if isinstance(_get(doc, p), dict)]
    where = rng.choice(mappings)
    key = rng.choice(["zz_", "x-", "unknown_"]) + "".join(rng.choice("abcdefghij_") for _ in range(rng.randint(1, 12)))
    if where and where[-1] == "prompts":  # a probe's prompts map any name: put the key beside them
        where = where[:-1]
    _get(doc, where)[key] = rng.choice([1, "x", None, [1], {"a": 1}])
    return _dump(doc)


def wrong_type(rng: random.Random, doc: dict) -> str:
    """A container where a scalar belongs, or the wrong kind of container."""
    path = rng.choice(_leaves(doc))
    value = _get(doc, path)
    if isinstance(value, dict):
        pool = _NOT_A_MAPPING
    elif isinstance(value, list):
        pool = _NOT_A_LIST
    else:
        pool = _NOT_A_SCALAR
    _set(doc, path, rng.choice(pool))
    return _dump(doc)


def bad_choice(rng: random.Random, doc: dict) -> str:
    """A value none of a choice field's options allows."""
    _set(doc, rng.choice(_CHOICES), rng.choice(["", "bogus", "FP32", "Public", "linear ", "none"]))
    return _dump(doc)


def out_of_range(rng: random.Random, doc: dict) -> str:
    """A number past its bounds, or a rule between fields broken."""
    path, values = rng.choice(_OUT_OF_RANGE)
    _set(doc, path, rng.choice(values))
    if path == ("serving", "host"):
        del doc["serving"]["auth"]
    return _dump(doc)


def missing_project(rng: random.Random, doc: dict) -> str:
    """The one required key left out."""
    del doc["project"]
    return _dump(doc)


def duplicate_key(rng: random.Random, doc: dict) -> str:
    """A key given a second time in the same mapping, with another value."""
    lines = _dump(doc).splitlines()
    # Entries of block mappings ("key: scalar"), duplicated right below with another value.
    entries = [i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith("-")]
    i = rng.choice(entries)
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    key = lines[i].strip().split(":", 1)[0]
    lines.insert(i + 1, f"{indent}{key}: {rng.choice(['1', 'x', 'null', '[]'])}")
    return "\n".join(lines) + "\n"


def broken_yaml(rng: random.Random, doc: dict) -> str:
    """One line made into YAML that does not parse."""
    lines = _dump(doc).splitlines()
    i = rng.randrange(len(lines))
    line = lines[i]
    breakers = [
        lambda s: s + ": extra: colon",
        lambda s: s.split(":", 1)[0] + ": [unclosed, list" if ":" in s else s + " ]",
        lambda s: s.split(":", 1)[0] + ': "unclosed quote' if ":" in s else '"' + s,
        lambda s: "\t" + s.lstrip(),
        lambda s: s.split(":", 1)[0] + ": *no_such_anchor" if ":" in s else "*no_such_anchor: 1",
        lambda s: s.split(":", 1)[0] + ": !!python/object/apply:os.system ['echo hacked']" if ":" in s else "!!python/name:os.system",
        lambda s: "%YAML 9.9\n" + s,
        lambda s: s + "\n  }",
        lambda s: "  " * 7 + "x: 1\n" + s,
    ]
    # A line that is not a "key: value" entry gets the break that needs no key.
    lines[i] = rng.choice(breakers)(line) if ": " in line else line + ": extra: colon"
    return "\n".join(lines) + "\n"


def bad_bytes(rng: random.Random, doc: dict) -> bytes:
    """Bytes that are not UTF-8, somewhere in the file."""
    raw = _dump(doc).encode("utf-8")
    junk = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80\x80", b"\xfe\xff"])
    at = rng.randrange(len(raw) + 1)
    return raw[:at] + junk + raw[at:]


def control_chars(rng: random.Random, doc: dict) -> str:
    """A control character YAML does not accept."""
    text = _dump(doc)
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(["\x00", "\x07", "\x1b[31m\x1b", "\ufffe", "\x0b"]) + text[at:]


def alias_bomb(rng: random.Random, doc: dict) -> str:
    """Nested aliases that expand to up to a billion items ("billion laughs")."""
    levels = rng.randint(7, 9)
    names = [f"l{i}" for i in range(levels)]
    lines = [f'{names[0]}: &{names[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    target = rng.choice(["data.sources", "eval.prompts", "description", "top"])
    body = _dump(doc)
    if target == "top":
        return body + "\n".join(lines) + "\n"
    section, field = target.split(".") if "." in target else (target, None)
    # Anchors live under a key the spec does not know, then the bomb is used where a value goes.
    bomb = "x_anchors:\n" + "\n".join("  " + line for line in lines) + "\n"
    use = f"*{names[-1]}"
    if field is None:
        doc[section] = "PLACEHOLDER"
    else:
        doc[section][field] = "PLACEHOLDER"
    return bomb + _dump(doc).replace("PLACEHOLDER", use).replace("'*", "*").replace(f"{use}'", use)


def deep_nesting(rng: random.Random, doc: dict) -> str:
    """A value nested hundreds to tens of thousands of levels deep."""
    depth = rng.choice([300, 2000, 20000])
    style = rng.choice(["flow-list", "flow-map", "block"])
    if style == "flow-list":
        value = "[" * depth + "]" * depth
    elif style == "flow-map":
        value = "{a: " * depth + "1" + "}" * depth
    else:
        value = "\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(min(depth, 3000)))
    section = rng.choice(["data", "train", "eval", "x_deep"])
    doc.pop(section, None)
    return _dump(doc) + f"{section}: {value}\n"


def huge_value(rng: random.Random, doc: dict) -> str:
    """A scalar of tens or hundreds of kilobytes where a short one belongs."""
    size = rng.choice([20_000, 300_000])
    path = rng.choice([("train", "max_steps"), ("project",), ("serving", "port"), ("data", "block_size")])
    value = rng.choice(["9" * size, "x" * size, "a" * size + "/b"])
    _set(doc, path, "PLACEHOLDER")
    return _dump(doc).replace("PLACEHOLDER", value)


def huge_list(rng: random.Random, doc: dict) -> str:
    """Thousands of wrong items in a list."""
    n = rng.choice([1_000, 10_000])
    doc["eval"]["prompts"] = "PLACEHOLDER"
    # Integers where prompts (text) belong: one problem per item, far too many to print.
    return _dump(doc).replace("PLACEHOLDER", "[" + ",".join(str(i) for i in range(n)) + "]")


def impossible_scalar(rng: random.Random, doc: dict) -> str:
    """An unquoted value YAML reads as a date or an integer that cannot exist."""
    lines = _dump(doc).splitlines()
    entries = [i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith("-")]
    i = rng.choice(entries)
    key = lines[i].split(": ", 1)[0]
    value = rng.choice(["2024-13-45", "2023-02-30", "2024-01-01 25:61:00", "9" * 5000, "-" + "8" * 4400])
    lines[i] = f"{key}: {value}"
    return "\n".join(lines) + "\n"


def not_a_mapping(rng: random.Random, doc: dict) -> str:
    """A file that is empty, a comment, a list or a scalar instead of sections."""
    return rng.choice(["", "# only a comment\n", "---\n...\n", "- project\n- data\n", "42\n", "just text\n", "null\n",
                       "[acme/bot]\n", "--- !!set {a, b}\n"])


def odd_keys(rng: random.Random, doc: dict) -> str:
    """A key that YAML reads as a number, null, a boolean, a date or a list."""
    section = rng.choice(["train", "data", "eval", "serving"])
    key = rng.choice(["1", "null", "true", "1.5", "2024-01-01", "? [a, b]\n  "])
    text = _dump(doc)
    return text.replace(f"\n{section}:\n", f"\n{section}:\n  {key}: 1\n", 1)


MISTAKES: list[Callable] = [
    unknown_key, wrong_type, bad_choice, out_of_range, missing_project, duplicate_key, broken_yaml, bad_bytes,
    control_chars, alias_bomb, deep_nesting, huge_value, huge_list, not_a_mapping, odd_keys, impossible_scalar,
]


def make_cases(folder: Path, count: int = CASES, seed: int = SEED) -> list[tuple[Path, str]]:
    """Write ``count`` invalid specs under ``folder``; returns (file, kind of mistake)."""
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        doc = yaml.safe_load(BASE)
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            _noise(rng, doc)
        mistake = MISTAKES[i % len(MISTAKES)]
        out = mistake(rng, doc)
        path = folder / f"case-{i:03d}-{mistake.__name__}.yaml"
        path.write_bytes(out if isinstance(out, bytes) else out.encode("utf-8"))
        cases.append((path, mistake.__name__))
    return cases


class _Hung(Exception):
    pass


def _validate_in_process(path: Path) -> tuple[int, str]:
    """``cubeops validate -c PATH`` through the CLI's own ``main``: (exit code, stderr)."""

    def hung(signum, frame):  # noqa: ANN001
        raise _Hung(f"{path.name} took longer than {CASE_TIMEOUT_S}s")

    err, out = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(["validate", "-c", str(path)])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, err.getvalue()


def _problem(path: Path, code: int, stderr: str) -> str | None:
    """What is wrong with how the CLI answered an invalid spec, or None."""
    if code != 2:
        return f"exit code {code}"
    if "Traceback" in stderr:
        return "a traceback"
    lines = stderr.strip().splitlines()
    if not lines or not all(line.startswith("cubeops: error: ") for line in lines):
        return f"not one 'cubeops: error:' message per line: {stderr[:300]!r}"
    if str(path) not in lines[0]:
        return "the message does not name the file"
    if len(stderr) > MAX_MESSAGE_CHARS:
        return f"a message of {len(stderr):,} characters"
    return None


def test_the_base_spec_is_valid(tmp_path):
    path = tmp_path / "cubeops.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert _validate_in_process(path)[0] == 0


def test_500_mutated_specs_each_exit_2_with_one_clear_message(tmp_path, scenario):
    row = scenario("9 spec fuzzing")
    failures = []
    kinds: dict[str, int] = {}
    for path, kind in make_cases(tmp_path):
        row.trial()
        kinds[kind] = kinds.get(kind, 0) + 1
        try:
            code, stderr = _validate_in_process(path)
        except BaseException as exc:  # noqa: BLE001 - a crash or hang is exactly what is looked for
            failures.append(f"{path.name}: raised {type(exc).__name__}: {str(exc)[:200]}")
            continue
        problem = _problem(path, code, stderr)
        if problem:
            failures.append(f"{path.name}: {problem}")
        else:
            row.ok()
    row.figure = f"{len(kinds)} kinds of mistake; exit 2 + one message each: {row.passed}/{row.trials}"
    assert row.trials == CASES
    assert not failures, f"{len(failures)} of {CASES} mutated specs were mishandled:\n" + "\n".join(failures[:30])


@pytest.mark.parametrize("kind", ["alias_bomb", "deep_nesting", "bad_bytes", "duplicate_key", "huge_value"])
def test_the_real_cli_refuses_the_nastiest_kinds_within_a_minute(tmp_path, kind):
    """The same cases through a real ``cubeops`` process, for validate and run alike."""
    path, _ = next((p, k) for p, k in make_cases(tmp_path, count=len(MISTAKES) * 2) if k == kind)
    for command in ("validate", "run"):
        proc = subprocess.run(
            cli(command, "-c", str(path)), capture_output=True, text=True, timeout=60, env=child_env(), cwd=tmp_path
        )
        assert _problem(path, proc.returncode, proc.stderr) is None, proc.stderr[-2000:]
