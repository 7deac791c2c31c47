"""The pull-request report, saved next to the demo as Markdown and as a standalone HTML page."""

from __future__ import annotations

import html
from pathlib import Path

from markdown_it import MarkdownIt

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #1f2328; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; }
th { background: #f6f8fa; }
code { background: #f6f8fa; padding: 0.1rem 0.3rem; border-radius: 4px; }
img { max-width: 100%; }
"""


def to_html(markdown: str, title: str) -> str:
    """A self-contained page (no CDN) rendering `markdown` as GitHub renders the comment.

    Raw HTML in the Markdown (the report's watermark comment, `<details>`) is kept, as
    GitHub keeps it.
    """
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )


def save(markdown: str, folder: Path, name: str, title: str) -> tuple[Path, Path]:
    """Write `<name>.md` and `<name>.html` in `folder`; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    md_path, html_path = folder / f"{name}.md", folder / f"{name}.html"
    md_path.write_text(markdown, encoding="utf-8")
    html_path.write_text(to_html(markdown, title), encoding="utf-8")
    return md_path, html_path
