"""``--help`` reads as paragraphs: docstring lines are re-flowed, examples keep their lines.

The help is Markdown (``rich_markup_mode="markdown"`` in pipeline/cli/__init__.py). Rendered
on a wide terminal, each prose paragraph of a docstring must start on one output line (not
broken where the source wraps it), each line of an indented example must appear as is, and
every word of an option's help must survive the Markdown rendering (``<kind>`` would not,
outside backticks).
"""

import inspect
import re

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _commands(command, path: tuple[str, ...] = ()):
    """(path, command) for the app and every group and command below it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(typer.main.get_command(app)))


def _help(path: tuple[str, ...]) -> list[str]:
    result = runner.invoke(app, [*path, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return [" ".join(ANSI.sub("", line).split()) for line in result.output.splitlines()]


def _flat(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def test_cli_help_export_labelstudio_keeps_a_sentence_on_one_line():
    # The source breaks this sentence after "the same"; the help must not.
    lines = _help(("data", "export-labelstudio"))
    sentence = (
        "Writes OUT/tasks.json (one task per passage: its text, the previous passage of the "
        "same session as context, and its ids)"
    )
    assert any(sentence in line for line in lines), "\n".join(lines)
    # The example keeps its two lines, the shell continuation included.
    assert "alliance data export-labelstudio --store sqlite:///out/alliance.db \\" in lines
    assert "--out ls/ --limit 500 --seed 1 --with-predictions" in lines


def test_cli_help_train_lists_each_example_on_its_own_line():
    lines = _help(("train",))
    for example in (
        "alliance train --data ../shared/data --profile full",
        "alliance train --data ../shared/data --profile fast --no-promote",
        "alliance train --quick --data ../shared/data --out models/quick --no-promote",
        "alliance train --notes my_labeled_notes.jsonl --train-set epochs=3",
    ):
        assert example in lines


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=lambda path: " ".join(path) or "alliance")
def test_cli_help_reflows_paragraphs_and_keeps_examples(path):
    lines = _help(path)
    doc = inspect.cleandoc(COMMANDS[path].help or "")
    assert doc, "every command has a docstring"
    for paragraph in doc.split("\n\n"):
        rows = paragraph.splitlines()
        if all(row.startswith("    ") for row in rows):  # an example: each line as is
            for row in rows:
                assert _flat(row) in lines, f"example line lost: {row!r}"
            continue
        assert not any(row.startswith(" ") for row in rows), (
            f"indent an example by 4 spaces, as a paragraph of its own: {paragraph!r}"
        )
        text = _flat(paragraph)
        start = text[:150].rsplit(" ", 1)[0] if len(text) > 150 else text
        assert any(start in line for line in lines), f"paragraph broken: {start!r}"
    output = " ".join(lines)
    for param in COMMANDS[path].params:
        for word in _flat(getattr(param, "help", None) or "").split():
            assert word in output, f"{param.name}: {word!r} lost from the help"
