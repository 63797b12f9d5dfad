"""One meaning per short flag: `-f` is `--format` in every command that has it (docs/cli.md)."""

from __future__ import annotations

import typer

from mlplatform.cli.app import app


def _commands(cmd, path: tuple[str, ...] = ()):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _options(flag: str) -> dict[str, list[str]]:
    """Every option that takes ``flag``, by command, as its list of names."""
    found: dict[str, list[str]] = {}
    for path, cmd in _commands(typer.main.get_command(app)):
        for param in cmd.params:
            if flag in param.opts:
                found[" ".join(path) or "mlp"] = list(param.opts)
    return found


def test_dash_f_is_format_wherever_it_exists():
    takes_f = _options("-f")
    assert {"models list", "pipeline plan", "drift check", "deploy model"} <= set(takes_f)
    assert {tuple(opts) for opts in takes_f.values()} == {("--format", "-f")}


def test_every_format_option_has_dash_f():
    missing = [where for where, opts in _options("--format").items() if "-f" not in opts]
    assert missing == []


def test_logs_follow_has_no_short_flag(runner, project):
    (follow,) = _options("--follow").values()
    assert follow == ["--follow"]
    result = runner.invoke(app, ["logs", "mlflow", "-f"])
    assert result.exit_code == 2
    assert "No such option" in result.output


def _short_flags() -> dict[str, set[str]]:
    """Every short flag in the app, with the long names it stands for."""
    meanings: dict[str, set[str]] = {}
    for _, cmd in _commands(typer.main.get_command(app)):
        for param in cmd.params:
            shorts = [o for o in param.opts if len(o) == 2 and o.startswith("-")]
            longs = tuple(o for o in param.opts if o.startswith("--"))
            for short in shorts:
                meanings.setdefault(short, set()).add(longs)
    return meanings


def test_every_short_flag_has_one_meaning_across_commands():
    # GIVEN every option of every command WHEN short flags are grouped by what they stand for
    clashes = {short: longs for short, longs in _short_flags().items() if len(longs) > 1}
    # THEN no short flag means two things (e.g. -f was --format and --follow; -c, -r likewise)
    assert clashes == {}
    assert ("--current",) in _short_flags()["-c"]
    assert ("--reference",) in _short_flags()["-r"]
