"""Tables at any width for the command line: fixed columns as wide as their widest cell, the others
sharing what is left, every cell at most two lines; and the short forms tables use (digests, reasons,
sizes). Sizes are decimal (kB, MB, GB: powers of 1,000), as ECR's price per GB-month is quoted."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from datetime import datetime

from rich import box
from rich.filesize import decimal
from rich.markup import escape
from rich.table import Table

# The narrowest a shared column gets: a repository name or a reason still reads.
MIN_FLEXIBLE = 8


# The short digest of the tables, which `explain` accepts as a prefix.
SHORT_DIGEST = 12


_DIGEST = re.compile(r"sha256:([0-9a-f]{12})[0-9a-f]{52}")


_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:")


def short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:SHORT_DIGEST]


def shorten(reason: str) -> str:
    """A reason as a table shows it: digests cut to 12 hex, ARNs to their resource."""
    return _ARN.sub("", _DIGEST.sub(lambda m: m.group(1), reason))


def size(n: int) -> str:
    return decimal(n)


def fitted(
    title: str | None,
    headers: list[str],
    rows: list[list[str]],
    *,
    width: int,
    flexible: tuple[int, ...],
    right: tuple[int, ...] = (),
) -> Table:
    """A table that fits `width`: fixed columns as wide as their widest cell, the `flexible` ones
    sharing the rest; every cell folded to at most two lines and cut with an ellipsis beyond."""
    natural = [max([len(header)] + [len(row[n]) for row in rows]) for n, header in enumerate(headers)]
    if sum(natural) + len(headers) - 1 > width:
        # Short of room: a header of several words takes two lines rather than columns.
        headers = [_halved(header) for header in headers]
        natural = [
            max([len(line) for line in header.split("\n")] + [len(row[n]) for row in rows])
            for n, header in enumerate(headers)
        ]
    fixed = sum(w for n, w in enumerate(natural) if n not in flexible)
    # One space between columns.
    room = max(width - fixed - (len(headers) - 1), MIN_FLEXIBLE * len(flexible))
    widths = list(natural)
    if sum(natural[n] for n in flexible) > room:
        # Water-filling: a column that needs less than an even share gets what it needs, and the
        # others share what it leaves.
        least = {n: max([MIN_FLEXIBLE] + [len(line) for line in headers[n].split("\n")]) for n in flexible}
        pending = sorted(flexible, key=lambda n: natural[n])
        share = room
        while pending:
            fair = share // len(pending)
            n = pending.pop(0)
            widths[n] = max(least[n], min(natural[n], fair)) if pending else max(least[n], share)
            share -= widths[n]
    table = Table(
        title=escape(title) if title else None,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        # SIMPLE_HEAD puts one blank between columns: the only gap counted above.
        padding=0,
    )
    for n, header in enumerate(headers):
        table.add_column(header, width=widths[n], no_wrap=True, justify="right" if n in right else "left")
    for row in rows:
        table.add_row(*(escape(_two_lines(cell, widths[n])) for n, cell in enumerate(row)))
    return table


def _halved(header: str) -> str:
    """A header of several words on two lines, split at the space nearest its middle."""
    spaces = [n for n, ch in enumerate(header) if ch == " "]
    if not spaces:
        return header
    middle = min(spaces, key=lambda n: abs(n - len(header) / 2))
    return f"{header[:middle]}\n{header[middle + 1 :]}"


def _two_lines(text: str, width: int) -> str:
    """`text` in at most two lines of `width`, wrapped at spaces where it can; cut with … beyond."""
    if len(text) <= width:
        return text
    if " " in text:
        first, *rest = textwrap.wrap(text, width, break_on_hyphens=False)
        second = " ".join(rest)
    else:
        first, second = text[:width], text[width:]
    if len(second) > width:
        second = second[: width - 1] + "…"
    return f"{first}\n{second}"


def day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"


def listing(items: Sequence[tuple[str | None, str, str]], limit: int = 20) -> list[str]:
    """`region repository@digest` lines, the first `limit` of them and how many more."""
    lines = [f"{region or '-'} {repository}@{digest}" for region, repository, digest in items[:limit]]
    if len(items) > limit:
        lines.append(f"... and {len(items) - limit} more")
    return lines
