"""The README's command list and the README test's policy agree (fast; the slow test
that runs the commands is tests/e2e/test_readme.py)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.readme_commands import (
    EXEMPT,
    EXPECTED_EXIT,
    SHRUNK,
    SUBSTITUTIONS,
    plan,
    readme_commands,
    strip_comment,
)

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_policy_entry_names_a_readme_command_and_gives_a_reason() -> None:
    texts = {c.text for c in readme_commands(README)}
    for table in (EXEMPT, EXPECTED_EXIT):
        for text in table:
            assert text in texts, f"{text!r} is in the policy but no longer in the README"
    assert all(reason.strip() for reason in EXEMPT.values())
    assert all(reason.strip() for _, reason in EXPECTED_EXIT.values())
    assert all(why.strip() for _, _, why in SUBSTITUTIONS)
    for rel, (old, _, why) in SHRUNK.items():
        assert why.strip() and old in (ROOT / rel).read_text(encoding="utf-8"), rel


def test_no_placeholder_is_left_in_a_command_that_runs() -> None:
    placeholders = re.compile(r"\b(runA|RUN_A|RUN_B|RUN)\b|store/v[12]|\[--|my_sweep")
    for step in plan(readme_commands(README)):
        if step.shell is not None:
            assert not placeholders.search(step.shell), (step.command.line, step.shell)


def test_the_readme_commands_are_found() -> None:
    texts = [c.text for c in readme_commands(README)]
    assert texts[0] == "janus-sim run scenarios/crash_week.yaml"  # the Quick start's chain
    assert "janus-sim verify [--replay]" in texts  # its comment dropped
    loops = [t for t in texts if t.startswith("for ")]
    assert len(loops) == 1 and "janus-sim baseline save" in loops[0] and loops[0].endswith("done")
    assert not any(t.startswith(("python", "ruff", "pip")) for t in texts)


def test_parser_joins_continuations_keeps_pipes_and_skips_other_programs() -> None:
    text = (
        "Intro\n\n```bash\n"
        "janus-sim run a.yaml \\\n  --seed 3   # a comment\n"
        "ruff check .\n"
        "pip install x && janus-sim runs | head -3\n"
        "while true; do\n  janus-sim schema\ndone\n"
        "```\n\n```python\njanus-sim not shell\n```\n"
        "```console\n$ janus-sim events --kind 'a # b'\noutput line\n```\n"
    )
    cmds = readme_commands(text)
    assert [c.text for c in cmds] == [
        "janus-sim run a.yaml --seed 3",
        "janus-sim runs | head -3",
        "while true; do\njanus-sim schema\ndone",
        "janus-sim events --kind 'a # b'",
    ]
    assert [c.line for c in cmds] == [4, 7, 8, 17]


def test_strip_comment_respects_quotes_and_words() -> None:
    assert strip_comment('x "a # b" # c') == 'x "a # b"'
    assert strip_comment("x a#b") == "x a#b"
    assert strip_comment("# all") == ""


def test_a_new_command_is_run_as_written_and_a_repeat_is_not() -> None:
    cmds = readme_commands("```bash\njanus-sim brand-new --x\njanus-sim brand-new --x\n```\n")
    first, second = plan(cmds)
    assert first.shell == "janus-sim brand-new --x" and first.exit_code == 0 and not first.why
    assert second.shell is None and second.why == ("the same command ran above",)
