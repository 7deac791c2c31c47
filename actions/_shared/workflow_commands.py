"""GitHub workflow commands (`::error title=…::message`), escaped once for every action script.

The runner reads a command up to the end of its line and decodes `%25`, `%0D` and `%0A` in
the message (and also `%3A` and `%2C` in a property such as `title`), the escaping of
@actions/core. Unescaped, a multi-line message (a tool's stderr) loses every line but the first
from the annotation, and a `%0A` in it would turn into a line break.

Imported by the scripts next to each action.yml through
`sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))`: a workflow that
uses `owner/repo/actions/<name>@ref` gets the whole repository, so `../_shared` is there.
"""

from __future__ import annotations


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: object, title: str = "") -> str:
    """One workflow-command line, e.g. `::warning title=train::dvc push failed`."""
    properties = f" title={escape_property(title)}" if title else ""
    return f"::{name}{properties}::{escape_data(str(message))}"


def error(title: str, message: object) -> int:
    """Print an error annotation; return 1, the exit status of a failed action step."""
    print(command("error", message, title))
    return 1


def warning(title: str, message: object) -> None:
    print(command("warning", message, title))


def notice(title: str, message: object) -> None:
    print(command("notice", message, title))
