"""Sub-commands registered by where they live, imported only when one runs.

A command module imports what its command needs (DuckDB, polars, SQLAlchemy, torch, ...); importing all of them
made every start-up, ``prometheus --help`` included, pay for all of them. The root group lists each sub-command
from a one-line summary held next to its registration and imports the module when the command is resolved:
run, or asked for its own ``--help``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

#: What a lazy entry turns into: a group of sub-commands or a single command.
Loaded = TyperGroup | TyperCommand


@dataclass(frozen=True)
class LazyCommand:
    """Where a sub-command lives and the one line the parent's help shows for it.

    ``module.attr`` is a Typer app or a command function whose full help is the module's ``HELP``. An app is
    mounted as a group of sub-commands when ``group`` (``calendar``, ``config``, ...), else its one command is
    the command (``sql``, ``synth``). ``summary`` must be the line the loaded command would show in the
    parent's listing (a test checks it).
    """

    module: str
    attr: str
    summary: str
    group: bool = False

    def load(self, name: str) -> Loaded:
        """Import the module and build the command registered as ``name``."""
        module = importlib.import_module(self.module)
        target = getattr(module, self.attr)
        if isinstance(target, typer.Typer):
            # A group goes through get_group, as add_typer would: get_command would make an app of one
            # sub-command (``config show``) that command itself, and add the completion options to a group.
            command: Any = typer.main.get_group(target) if self.group else typer.main.get_command(target)
        else:
            host = typer.Typer(add_completion=False)
            host.command(name, help=module.HELP)(target)
            command = typer.main.get_command(host)
        if not isinstance(command, TyperGroup | TyperCommand):
            raise TypeError(f"{self.module}.{self.attr} did not build a Typer command")
        command.name = name
        return command


class _Unloaded(TyperCommand):
    """Stands in for a lazy sub-command in the parent's listing: its name and summary, nothing imported."""

    def __init__(self, name: str, spec: LazyCommand) -> None:
        super().__init__(name, short_help=spec.summary, help=spec.summary)
        self.spec = spec


class LazyGroup(TyperGroup):
    """A Typer group whose sub-commands in :attr:`lazy_commands` are imported only when resolved.

    Set ``lazy_commands`` on a subclass and pass it as ``cls`` to ``typer.Typer``. Listing (``--help``, shell
    completion) sees placeholders with the summaries; resolving a name to run it, or to show its own help,
    replaces the placeholder with the real command.
    """

    lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, spec in self.lazy_commands.items():
            self.commands.setdefault(name, _Unloaded(name, spec))

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> tuple[str | None, Any, list[str]]:
        """Resolve as Typer does, then load the command if it is still a placeholder."""
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, _Unloaded):
            command = self.commands[name] = command.spec.load(name)
        return name, command, rest

    def loaded(self, name: str) -> Loaded:
        """The real command ``name``, loading it if needed (for tests and tools that inspect the tree)."""
        command = self.commands[name]
        if isinstance(command, _Unloaded):
            command = self.commands[name] = command.spec.load(name)
        if not isinstance(command, TyperGroup | TyperCommand):
            raise TypeError(f"{name} is not a Typer command")
        return command


__all__ = ["LazyCommand", "LazyGroup", "Loaded"]
