"""The coaching sheet's PDF, read back with pypdf: every strength's and opportunity's quote with its speaker
and time, why it matters and what to try, the rest of the moments, the agent's own view and commitments,
the coaches' notes; words in any language (the DejaVu font, not a Latin-1 core font); numbered A4 pages;
the same bytes for the same sheet; and a clear error naming the package when the font is missing."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pypdf
import pytest

from callcoach.live.coaching import Commitment, SelfAssessment
from callcoach.live.errors import CallcoachError
from callcoach.live.events import Alert, CallEnded, CallStarted, Event, Note, Polarity, Quote
from callcoach.live.sheet import CoachingSheet, build_sheet
from callcoach.live.sheet_pdf import mm_ss, render_pdf

MADE_AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
STARTED_AT = "2026-11-30T09:05:00+00:00"
A4_POINTS = (595, 842)


def alert(n: int, kind: str, polarity: Polarity, at_s: float, said: str, suggestion: str) -> Alert:
    quote = Quote("agent" if polarity == "praise" else "customer", said, at_s, at_s + 2.0)
    return Alert(
        f"{kind}-{n}", 0, kind, polarity, quote.speaker, at_s, at_s + 2.0, at_s + 2.0,
        f"{kind} title {n}", said, f"why {n} matters", suggestion, quotes=(quote,),
    )  # fmt: skip


def sample_events() -> list[Event]:
    coach: list[Event] = [
        alert(1, "cold_reply_to_bad_news", "coach", 62.4, "I’d need the account number", "say sorry first"),
        alert(2, "customer_frustration", "coach", 95.0, "this is the third time I call", "name the feeling"),
        alert(3, "interruption", "coach", 130.0, "wait, let me finish", "let them finish"),
        alert(4, "monologue", "coach", 200.0, "and then the policy says", "stop and ask"),
        alert(5, "silence", "coach", 250.0, "hello, are you there?", "say what you are doing"),
    ]
    return [
        CallStarted("c-1", "twilio", STARTED_AT, ("agent", "customer"), title="Renée’s refund", agent="bo"),
        alert(9, "empathy_shown", "praise", 12.0, "je suis désolé, that must be hard", "keep naming it"),
        *coach,
        Note("n-1", 70.0, "coach", "ask about the café order first", "fay", "Fay Ō"),
        Note("n-2", 20.0, "praise", "warm greeting", "fay", "Fay Ō"),
        CallEnded(305.0),
    ]


def sample_sheet() -> CoachingSheet:
    own = SelfAssessment("c-1", "bo", "I stayed calm", "say sorry before the account", "2026-11-30T10:00:00Z")
    promise = Commitment(
        "k-1", "bo", "c-1", "cold_reply_to_bad_news", "acknowledge bad news before business",
        "2026-12-07", "fay", "2026-11-30T11:00:00Z",
    )  # fmt: skip
    return build_sheet("c-1", sample_events(), self_assessment=own, commitments=[promise])


def read_back(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(pdf))


def flat(text: str) -> str:
    """The text with its wrapping undone: a long line may break anywhere between words."""
    return " ".join(text.split())


def test_the_sheet_reads_back_whole() -> None:
    reader = read_back(render_pdf(sample_sheet(), started_at=STARTED_AT, made_at=MADE_AT))
    text = flat("\n".join(page.extract_text() for page in reader.pages))
    assert "Coaching sheet: Renée’s refund" in text
    assert "30 Nov 2026, 09:05 UTC" in text and "05:05 long" in text and "agent bo" in text
    assert "Balance: 2 praise 6 to coach" in text
    # The strengths: the praise moment with its speaker, time and quote (French accents), the praise note.
    assert "00:12 empathy_shown title 9" in text
    assert "Agent at 00:12: “je suis désolé, that must be hard”" in text
    assert "Keep: keep naming it" in text and "warm greeting" in text
    # The top three in rank order, each with its quote (a curly apostrophe), why and what to try.
    assert "To work on (top 3 of 5)" in text
    first, second, third = (text.index(f"{n}. ") for n in (1, 2, 3))
    assert first < second < third
    assert "1. 01:02 cold_reply_to_bad_news title 1" in text
    assert "Customer at 01:02: “I’d need the account number”" in text
    assert "Why it matters: why 1 matters" in text and "Try: say sorry first" in text
    assert "Customer at 01:35: “this is the third time I call”" in text and "Try: name the feeling" in text
    assert "Customer at 02:10: “wait, let me finish”" in text and "Try: let them finish" in text
    # The other two, one line each.
    assert "And 2 more, for another day:" in text
    assert "03:20 monologue title 4" in text and "04:10 silence title 5" in text
    assert "stop and ask" not in text
    assert "Went well: I stayed calm" in text and "Would do differently: say sorry before the account" in text
    assert "acknowledge bad news before business (cold reply to bad news), from 2026-12-07" in text
    assert "01:10 Fay Ō (coach)" in text and "ask about the café order first" in text


def test_one_a4_page_numbered() -> None:
    reader = read_back(render_pdf(sample_sheet(), started_at=STARTED_AT, made_at=MADE_AT))
    (page,) = reader.pages
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4_POINTS
    assert "Page 1 of 1" in page.extract_text()
    assert reader.metadata is not None and reader.metadata.title == "Coaching sheet: Renée’s refund"


def test_a_long_sheet_runs_over_numbered_pages() -> None:
    notes = [
        Note(f"long-{i}", float(i), "coach", f"note number {i} " + "words " * 40, "fay", "Fay")
        for i in range(60)
    ]
    sheet = build_sheet("c-2", [*sample_events(), *notes])
    reader = read_back(render_pdf(sheet, started_at=None, made_at=MADE_AT))
    total = len(reader.pages)
    assert 3 <= total <= 12
    for n, page in enumerate(reader.pages, start=1):
        assert f"Page {n} of {total}" in page.extract_text()
    text = flat("\n".join(page.extract_text() for page in reader.pages))
    assert all(f"note number {i} " in text for i in range(60))


def test_a_call_with_nothing_flagged_says_so() -> None:
    sheet = build_sheet("quiet", [CallStarted("quiet", "twilio", STARTED_AT, ("agent", "customer"))])
    text = flat(read_back(render_pdf(sheet, started_at=STARTED_AT, made_at=MADE_AT)).pages[0].extract_text())
    assert "Coaching sheet: quiet" in text and "Balance: 0 praise 0 to coach" in text
    assert (
        "Nothing flagged: ask the agent what went well" in text and "Nothing to coach on this call." in text
    )
    assert "agent's own view" not in text and "Commitments" not in text  # nothing to show, no empty heading


def test_the_same_sheet_gives_the_same_bytes() -> None:
    """No clock inside: the creation date is the caller's, so a sheet's PDF can be compared or cached."""
    one = render_pdf(sample_sheet(), started_at=STARTED_AT, made_at=MADE_AT)
    assert render_pdf(sample_sheet(), started_at=STARTED_AT, made_at=MADE_AT) == one


def test_a_missing_font_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(CallcoachError) as raised:
        render_pdf(sample_sheet(), started_at=STARTED_AT, made_at=MADE_AT, fonts=tmp_path)
    assert raised.value.code == "pdf_fonts_missing"
    assert "DejaVuSans.ttf is missing" in raised.value.message
    assert "apt-get install fonts-dejavu-core" in raised.value.message


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.0, "00:00"), (59.99, "00:59"), (62.4, "01:02"), (3725, "62:05")]
)
def test_times_are_minutes_and_seconds(seconds: float, shown: str) -> None:
    assert mm_ss(seconds) == shown
