"""``[STORE:]RUN[@WHEN]`` on the command line: ``at``, ``diff`` and ``compare`` take the new
forms and still take their old ones, with the same answers; bad refs are one line, exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from janus_sim.adapters.duckdb_store import open_store, store_file
from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from tests.cli_inprocess import cli
from tests.conftest import TINY

pytestmark = pytest.mark.e2e
Capsys = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store with runs ``r`` and ``r8`` (seed 8), and a copy of it at a path that holds
    ':' and '@'."""
    root = tmp_path_factory.mktemp("refs")
    main, other = root / "main", root / "v1@host:x" / "store"
    tiny = Scenario.model_validate(TINY)
    store = open_store(main)
    try:
        Engine(tiny, store, run_id="r").run()
        Engine(tiny.with_seed(8), store, run_id="r8").run()
    finally:
        store.close()
    other.mkdir(parents=True)
    shutil.copy(store_file(main), store_file(other))
    return main, other


def ok(capsys: Capsys, *args: str | Path) -> str:
    code, out, err = cli(capsys, *args)
    assert code == 0, (out, err)
    return out


def bad(capsys: Capsys, *args: str | Path) -> str:
    code, out, err = cli(capsys, *args)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("janus-sim: error: "), err
    return lines[0]


def test_at_old_and_new_forms_agree(capsys: Capsys, stores: tuple[Path, Path]) -> None:
    main, other = stores
    old = ok(capsys, "at", "2025-12-18", "--run", "r8", "--store", main, "--json")
    assert json.loads(old)["run_id"] == "r8" and json.loads(old)["as_of"] == "2025-12-18"
    assert ok(capsys, "at", f"{main}:r8@2025-12-18", "--json") == old
    assert ok(capsys, "at", "r8@2025-12-18", "--store", main, "--json") == old
    # The inline RUN and STORE win over --run and --store, which are defaults.
    assert ok(capsys, "at", f"{main}:r8@2025-12-18", "--run", "r", "--json") == old

    by_option = ok(capsys, "at", "--cycle", "1", "--run", "r", "--store", main, "--json")
    assert ok(capsys, "at", f"{main}:r@cycle:1", "--json") == by_option
    assert ok(capsys, "at", "cycle:1", "--run", "r", "--store", main, "--json") == by_option
    # The same run in a store whose path holds ':' and '@' has the same schemas.
    assert ok(capsys, "at", f"{other}:r@cycle:1", "--json") == by_option

    end = json.loads(ok(capsys, "at", f"{main}:r@end", "--json"))
    assert end == json.loads(ok(capsys, "at", "--run", "r", "--store", main, "--json"))


def test_at_errors(capsys: Capsys, stores: tuple[Path, Path]) -> None:
    main, _ = stores
    line = bad(capsys, "at", "r@", "--store", main)
    assert "at: 'r@': no WHEN after '@': at needs a WHEN, e.g. RUN@end" in line
    line = bad(capsys, "at", f"{main}:r", "--store", main)
    assert "is not a date or timestamp" in line and "write [STORE:]RUN@WHEN" in line
    assert "give one of WHEN" in bad(capsys, "at", "r@end", "--cycle", "1", "--store", main)
    assert "no run 'ghost'" in bad(capsys, "at", f"{main}:ghost@end")


def test_diff_old_and_new_forms_agree(capsys: Capsys, stores: tuple[Path, Path]) -> None:
    main, other = stores
    old = json.loads(ok(capsys, "diff", "cycle:1", "end", "--store", main, "--run", "r", "--json"))
    assert old["a"] == {"run_id": "r", "as_of": "cycle 1", "store": str(main)}
    assert old["created"] or old["pruned"] or old["updated"]  # otherwise vacuous
    forms: list[tuple[str, str, list[str | Path]]] = [
        ("r@cycle:1", "r@end", ["--store", main]),
        (f"{main}:r@cycle:1", f"{main}:r@end", []),
        (f"{main}:r@cycle:1", "end", ["--store", main, "--run", "r"]),
        ("@cycle:1", "r@end", ["--store", main, "--run", "r"]),
    ]
    for a, b, options in forms:
        assert json.loads(ok(capsys, "diff", a, b, *options, "--json")) == old, (a, b)
    # Two stores holding the same run.
    across = json.loads(ok(capsys, "diff", f"{main}:r@end", f"{other}:r@end", "--json"))
    assert across["b"]["store"] == str(other)
    assert not (across["created"] or across["pruned"] or across["updated"] or across["metrics"])
    table = " ".join(ok(capsys, "diff", f"{main}:r@end", f"{other}:r@end").split())
    assert "no difference" in table and f"{other}:r @ the end of the run" in table
    # Two runs of one store, the old RUN@WHEN form.
    seeds = json.loads(ok(capsys, "diff", "r@end", "r8@end", "--store", main, "--json"))
    assert seeds["b"]["run_id"] == "r8" and seeds["metrics"]


def test_diff_errors_name_the_argument(capsys: Capsys, stores: tuple[Path, Path]) -> None:
    main, _ = stores
    assert "diff A: 'r@': no WHEN after '@': diff needs a WHEN" in bad(
        capsys, "diff", "r@", "end", "--store", main
    )
    line = bad(capsys, "diff", "end", f"{main}:r", "--store", main)
    assert (
        line.startswith(f"janus-sim: error: diff B: '{main}:r': is not a date or timestamp")
        and "RUN@WHEN" in line
    )
    assert "diff B: ':r@end': empty STORE before ':'" in bad(
        capsys, "diff", "end", ":r@end", "--store", main
    )


def compare_json(capsys: Capsys, *args: str | Path) -> dict[str, object]:
    code, out, err = cli(capsys, "compare", *args, "--quiet", "--json")
    assert code in (0, 1), (out, err)
    doc = json.loads(out)
    for side in ("a", "b"):
        doc[side].pop("label")  # the text as given
    return dict(doc)


def test_compare_old_and_new_forms_agree(capsys: Capsys, stores: tuple[Path, Path]) -> None:
    main, other = stores
    old = compare_json(capsys, "r", "r8", "--store", main)
    assert old["ok"] is False and old["digests_equal"] is False
    assert compare_json(capsys, f"{main}:r", f"{main}:r8") == old
    assert compare_json(capsys, "r", f"{main}:r8", "--store", main) == old
    # A store path with ':' and '@' in it: RUN follows the last ':'.
    same = compare_json(capsys, "r", f"{other}:r", "--store", main)
    assert same["ok"] is True and same["digests_equal"] is True
    assert same["b"]["where"] == str(other)  # type: ignore[index]


def test_compare_rejects_a_when(capsys: Capsys, stores: tuple[Path, Path]) -> None:
    main, _ = stores
    line = bad(capsys, "compare", "r@end", "r", "--store", main)
    assert "compare A: 'r@end': compare compares whole runs and takes no @WHEN" in line
    line = bad(capsys, "compare", "r", f"{main}:r@cycle:3")
    assert "compare B:" in line and "takes no @WHEN" in line


@pytest.mark.parametrize(
    ("command", "fragments"),
    [
        ("at", ["[STORE:]RUN@WHEN", "@cycle:3", "cycle:N, seq:N or end"]),
        ("diff", ["[STORE:]RUN@WHEN", "store/v1.duckdb:runA@cycle:3"]),
        ("compare", ["[STORE:]RUN", "store/v1.duckdb:crash_week", "an @WHEN"]),
    ],
)
def test_help_teaches_the_grammar(capsys: Capsys, command: str, fragments: list[str]) -> None:
    text = " ".join(ok(capsys, command, "--help").split())
    for fragment in fragments:
        assert fragment in text, (fragment, text)
