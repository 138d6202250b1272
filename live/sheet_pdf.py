"""The coaching sheet as a PDF a coach prints or files: a :class:`CoachingSheet` in, the PDF's bytes out.

Drawn with fpdf2 (pure Python) rather than by printing the sheet's page in a browser: a server has no
business running chromium for a download. A4, in the order of the page and ``callcoach sheet``: the call
(title, day, length, agent), the balance of praise and coaching, what went well (each strength with its
quotes, speaker and time mm:ss), the top three to work on (quote, why it matters, what to try), the rest
as one line each, the agent's self-assessment and commitments when there are any, and the coaches' notes;
every page is numbered.

Quotes are the customers' and agents' own words, in any language, so the text is set in DejaVu Sans
(Debian's ``fonts-dejavu-core``) and not in a PDF core font, which knows Latin-1 only. The fonts are the
only file read here; no clock either: the PDF's creation date is the caller's ``made_at``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fpdf import FPDF, XPos, YPos

from callcoach.live.errors import CallcoachError
from callcoach.live.sheet import CoachingSheet, SheetMoment, SheetNote

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")  # where Debian's fonts-dejavu-core puts them
FONT = "DejaVu"
_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_LINE_MM = 5.0
_INDENT_MM = 8.0
_GREEN, _AMBER, _GREY = (30, 120, 60), (180, 90, 0), (90, 90, 90)
# A heading or an item's first line this close to the foot starts the next page, not alone at the bottom.
_HEADING_ROOM_MM, _ITEM_ROOM_MM = 35.0, 18.0


def render_pdf(
    sheet: CoachingSheet, *, started_at: str | None, made_at: dt.datetime, fonts: Path = DEJAVU
) -> bytes:
    """The sheet as a PDF. ``started_at`` is the call's start (ISO 8601, for its day), ``made_at`` the
    PDF's creation date; ``fonts`` the folder of DejaVu Sans (raises ``pdf_fonts_missing`` without it)."""
    pdf = _SheetPdf(sheet.call_id)
    for style, name in _FILES.items():
        if not (fonts / name).is_file():
            raise CallcoachError(
                "pdf_fonts_missing",
                f"the PDF needs the DejaVu Sans font and {fonts / name} is missing: install Debian's "
                f"fonts-dejavu-core (sudo apt-get install fonts-dejavu-core)",
            )
        pdf.add_font(FONT, style, fonts / name)
    pdf.set_title(f"Coaching sheet: {sheet.title or sheet.call_id}")
    pdf.set_creator("callcoach")
    pdf.set_creation_date(made_at)
    pdf.add_page()
    _header(pdf, sheet, started_at)
    _strengths(pdf, sheet)
    _opportunities(pdf, sheet)
    _self_assessment(pdf, sheet)
    _notes(pdf, sheet.notes)
    return bytes(pdf.output())


class _SheetPdf(FPDF):
    """A4 pages with the call's id and "Page n of N" at the foot of each."""

    def __init__(self, call_id: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.call_id = call_id
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*_GREY)
        self.cell(self.epw / 2, 5, f"callcoach · call {self.call_id}")
        self.cell(self.epw / 2, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def _header(pdf: _SheetPdf, sheet: CoachingSheet, started_at: str | None) -> None:
    _text(pdf, f"Coaching sheet: {sheet.title or sheet.call_id}", size=17, bold=True, line_mm=8.0)
    facts = [f"call {sheet.call_id}"] if sheet.title else []
    facts += [_day(started_at)] if started_at else []
    facts += [f"{mm_ss(sheet.duration_s)} long"] if sheet.duration_s is not None else []
    facts += [f"agent {sheet.agent}"] if sheet.agent else []
    _text(pdf, " · ".join(facts), size=10, colour=_GREY)
    pdf.ln(2)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(pdf.get_string_width("Balance:  "), 6, "Balance:  ")
    pdf.set_text_color(*_GREEN)
    pdf.cell(pdf.get_string_width(f"{sheet.praise_count} praise  "), 6, f"{sheet.praise_count} praise  ")
    pdf.set_text_color(*_AMBER)
    pdf.cell(0, 6, f"{sheet.coach_count} to coach", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


def _strengths(pdf: _SheetPdf, sheet: CoachingSheet) -> None:
    _heading(pdf, "What went well", _GREEN)
    if not sheet.strengths:
        _text(pdf, "Nothing flagged: ask the agent what went well, and listen for it.", colour=_GREY)
    for item in sheet.strengths:
        if isinstance(item, SheetNote):
            _item(pdf, f"{mm_ss(item.start_s)}  Note by {item.author_name or item.author}")
            _quoted(pdf, item)
            _text(pdf, item.text, indent=_INDENT_MM)
        else:
            _item(pdf, f"{mm_ss(item.start_s)}  {item.title}{_pin(item.pinned)}")
            _quoted(pdf, item)
            _labelled(pdf, "Keep", item.suggestion)
        pdf.ln(1.5)


def _opportunities(pdf: _SheetPdf, sheet: CoachingSheet) -> None:
    total = len(sheet.opportunities) + len(sheet.more)
    _heading(
        pdf, f"To work on (top {len(sheet.opportunities)} of {total})" if sheet.more else "To work on", _AMBER
    )
    if not sheet.opportunities:
        _text(pdf, "Nothing to coach on this call.", colour=_GREY)
    for n, moment in enumerate(sheet.opportunities, start=1):
        rule = f" (rule {moment.rule})" if moment.rule else ""
        _item(pdf, f"{n}. {mm_ss(moment.start_s)}  {moment.title}{rule}{_pin(moment.pinned)}")
        _quoted(pdf, moment)
        _labelled(pdf, "Why it matters", moment.why)
        _labelled(pdf, "Try", moment.suggestion)
        pdf.ln(1.5)
    if sheet.more:
        _text(pdf, f"And {len(sheet.more)} more, for another day:", colour=_GREY)
        for moment in sheet.more:
            _text(pdf, f"{mm_ss(moment.start_s)}  {moment.title}", indent=_INDENT_MM, colour=_GREY)


def _self_assessment(pdf: _SheetPdf, sheet: CoachingSheet) -> None:
    own = sheet.self_assessment
    if own is not None:
        _heading(pdf, "The agent's own view")
        _labelled(pdf, "Went well", own.went_well)
        _labelled(pdf, "Would do differently", own.do_differently)
    if sheet.commitments:
        _heading(pdf, "Commitments")
        for c in sheet.commitments:
            accepted = f"accepted {c.accepted_at[:10]}" if c.accepted_at else "not accepted yet"
            _text(pdf, f"• {c.behaviour} ({c.kind.replace('_', ' ')}), from {c.due_date}, {accepted}")


def _notes(pdf: _SheetPdf, notes: tuple[SheetNote, ...]) -> None:
    if not notes:
        return
    _heading(pdf, "Coaches' notes")
    for note in notes:
        who = f"{mm_ss(note.start_s)}  {note.author_name or note.author} ({note.tag}){_pin(note.pinned)}"
        _item(pdf, who)
        _text(pdf, note.text, indent=_INDENT_MM)


def _quoted(pdf: _SheetPdf, item: SheetMoment | SheetNote) -> None:
    """What was said: every quote with its speaker and time, or the moment's bare quote if it has none."""
    quotes = item.quotes if isinstance(item, SheetMoment) else () if item.quote is None else (item.quote,)
    for q in quotes:
        _text(pdf, f"{q.speaker.capitalize()} at {mm_ss(q.start_s)}: “{q.text}”", indent=_INDENT_MM)
    if not quotes and isinstance(item, SheetMoment) and item.quote:
        _text(pdf, f"“{item.quote}”", indent=_INDENT_MM)


def _heading(pdf: _SheetPdf, title: str, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
    _keep_room(pdf, _HEADING_ROOM_MM)
    pdf.ln(4)
    _text(pdf, title, size=13, bold=True, colour=colour)
    pdf.set_draw_color(*colour)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2)


def _item(pdf: _SheetPdf, head: str) -> None:
    """An item's first line, in bold, on the page that has room for what follows it."""
    _keep_room(pdf, _ITEM_ROOM_MM)
    _text(pdf, head, bold=True)


def _keep_room(pdf: _SheetPdf, room_mm: float) -> None:
    if pdf.get_y() > pdf.h - pdf.b_margin - room_mm:
        pdf.add_page()


def _labelled(pdf: _SheetPdf, label: str, text: str) -> None:
    if text:
        _text(pdf, f"{label}: {text}", indent=_INDENT_MM)


def _text(
    pdf: _SheetPdf,
    text: str,
    *,
    indent: float = 0.0,
    size: float = 10.0,
    bold: bool = False,
    colour: tuple[int, int, int] = (0, 0, 0),
    line_mm: float = _LINE_MM,
) -> None:
    """A paragraph, wrapped to the page's width less ``indent`` (ragged right: justified lines of a short
    quote open wide gaps)."""
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.set_text_color(*colour)
    pdf.set_x(pdf.l_margin + indent)
    pdf.multi_cell(pdf.epw - indent, line_mm, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


def mm_ss(seconds: float) -> str:
    """``83.7`` → ``01:23``: minutes and whole seconds, cut as a player's clock is."""
    minutes, secs = divmod(int(max(seconds, 0.0) + 1e-6), 60)
    return f"{minutes:02d}:{secs:02d}"


def _day(started_at: str) -> str:
    """The call's start as a reader says it (``30 Nov 2026, 09:05 UTC``); a stamp that is not ISO as it is."""
    try:
        when = dt.datetime.fromisoformat(started_at)
    except ValueError:
        return started_at
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.strftime("%-d %b %Y, %H:%M") + (" UTC" if when.tzinfo is not None else "")


def _pin(pinned: bool) -> str:
    return "  (pinned)" if pinned else ""
