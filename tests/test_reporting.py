"""Segment selection, the written summaries, and the escaping of every string from data or
parameters on its way to a report page."""

import html
import math
import re

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from retention.metrics.cohorts import cohort_table
from retention.reports.narrative import (
    cohort_highlights,
    describe_clv,
    describe_cohorts,
    html_table,
    html_text,
    markdown_text,
    plain_text,
    report_heading,
    select_segment,
)

TX = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b", "c", "c"],
        "order_date": pd.to_datetime(
            ["2024-01-03", "2024-02-05", "2024-01-10", "2024-02-01", "2024-03-31"]
        ),
        "revenue": [10.0, 20.0, 5.0, 7.0, 8.0],
        "channel": ["email", "social", "social", 2024, "email"],
    }
)


def test_segment_is_the_one_of_the_first_purchase_and_keeps_all_rows():
    email = select_segment(TX, "channel", "email")
    assert email["customer_id"].tolist() == ["a", "a"]  # a's later social row stays with a
    assert select_segment(TX, "channel", "2024")["customer_id"].tolist() == ["c", "c"]
    assert select_segment(TX, None, None) is TX
    assert select_segment(TX, "channel", None) is TX


def test_unknown_segment_value_lists_those_present():
    with pytest.raises(ValueError, match=r"No customer has channel = 'paid'.*'email', 'social'"):
        select_segment(TX, "channel", "paid")
    with pytest.raises(ValueError, match="missing column"):
        select_segment(TX, "country", "NL")


def test_highlights_by_hand():
    # cohorts: 2024-01 = {a, b}, a returns in Feb -> 50 %; 2024-02 = {c}, back in Mar -> 100 %
    h = cohort_highlights(cohort_table(TX, "M"), min_size=1)
    assert (h["customers"], h["cohorts"]) == (3, 2)
    assert h["revenue"] == pytest.approx(50.0)
    assert h["average_retention"] == pytest.approx(2 / 3)  # (2 * 0.5 + 1 * 1.0) / 3
    assert (h["best_cohort"], h["best_retention"]) == ("2024-02", 1.0)
    assert (h["worst_cohort"], h["worst_retention"]) == ("2024-01", 0.5)
    assert math.isnan(h["recent_retention"])  # fewer than six cohorts: no trend


def test_small_cohorts_are_not_ranked_and_the_text_says_why():
    h = cohort_highlights(cohort_table(TX, "M"), min_size=30)
    assert h["best_cohort"] is None
    text = describe_cohorts(h)
    assert "66.7%" in text
    assert "No cohort has 30 customers or more" in text


def test_trend_sentence_compares_recent_and_earlier_cohorts():
    rows = []
    for i, rate in enumerate([0.1, 0.1, 0.1, 0.3, 0.3, 0.3]):
        cohort = pd.Period("2024-01", "M") + i
        rows += [(cohort, 0, 100, 1.0, 10.0, True), (cohort, 1, 100, rate, 1.0, True)]
    long = pd.DataFrame(
        rows, columns=["cohort", "period", "cohort_size", "retention", "revenue", "observed"]
    )
    h = cohort_highlights(long)
    assert (h["recent_retention"], h["earlier_retention"]) == pytest.approx((0.3, 0.1))
    assert "better than the earlier ones (10.0%, +20.0 points)" in describe_cohorts(h)


# --------------------------------------------------------------------------------------------
# text from data or parameters: shown as written, never markup
# --------------------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "![i](https://e.com/i.png) <https://e.com> https://e.com www.e.com a@e.com",
    "*em* _em_ **strong** `code` ~~del~~ ==mark== ^sup^ [^1] {#id}",
    "# heading",
    "north\n# broken\r\n---\n=== \u2028## sep\u2029x",
    "nul\x00value\ttab\x1b[31m\x85",
    "a | b | c",
    "1. first",
    "- item",
    "> quote",
    '" onmouseover="alert(1)',
    "$\\href{javascript:alert(1)}{x}$ \\(x\\) \\[y\\]",
    "&lt;script&gt; &amp; &#60;b&#62;",
    "back\\slash\\",
]


def _render(markdown: str) -> str:
    """Markdown to HTML as the report pages do it (nbconvert's renderer)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str | None]]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Tags().feed(page)
    return found


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", page)).strip()


def test_plain_text_is_one_line():
    assert plain_text("north\n# east\r\n\tx\x00y\u2028z\x85 ") == "north # east x y z"
    assert plain_text(2024) == "2024"
    assert plain_text("  \n ") == ""


def test_html_text_escapes_tags_quotes_and_entities():
    assert html_text("<b a='1'>\"&amp;\"</b>") == (
        "&lt;b a=&#x27;1&#x27;&gt;&quot;&amp;amp;&quot;&lt;/b&gt;"
    )
    assert html_text("a\nb") == "a b"


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_text_renders_as_the_plain_text(value):
    page = _render(markdown_text(value))
    # a paragraph of text, with nothing else than the span that keeps TeX off
    assert {tag for tag, _ in _tags(page)} <= {"p", "span"}
    assert all(attrs == {"class": "tex2jax_ignore"} for tag, attrs in _tags(page) if tag == "span")
    assert _text(page) == plain_text(value)


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40))
@settings(max_examples=300, deadline=None)
def test_markdown_text_renders_any_text_as_written(value):
    page = _render("Value: " + markdown_text(value))
    assert {tag for tag, _ in _tags(page)} <= {"p", "span"}
    assert _text(page) == ("Value: " + plain_text(value)).strip()


@pytest.mark.parametrize("value", HOSTILE)
def test_headings_hold_the_whole_value(value):
    page = _render(report_heading(value, value, value))
    tags = [tag for tag, _ in _tags(page)]
    assert tags.count("h2") == 1 and set(tags) <= {"h2", "a", "span"}
    for tag, attrs in _tags(page):
        if tag == "a":  # only the heading's own anchor
            assert attrs.get("href", "").startswith("#") and attrs.get("class") == "anchor-link"
    shown = plain_text(value)
    assert _text(page).startswith(f"{shown}: {shown} = {shown}")


def test_heading_of_all_customers_and_level():
    assert report_heading("Cohort retention") == "## Cohort retention: all customers"
    assert report_heading("Cohort retention", "channel", None).endswith("all customers")
    assert report_heading("CLV", level=3).startswith("### CLV")


def test_html_table_escapes_cells_labels_and_names_not_numbers():
    index = pd.MultiIndex.from_tuples([("<b>", "x"), ("<i>", "y")], names=["<u>", None])
    table = pd.DataFrame(
        {
            "<script>alert(1)</script>": ["<img src=x onerror=alert(1)>", None],
            "group": pd.Categorical(["a\nb", "<em>c</em>"]),
            "examples": [["<s>"], []],
            "clv": [1234.5, float("nan")],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        },
        index=index,
    )
    page = html_table(table).format("{:,.1f}", subset=["clv"], na_rep="-").to_html()
    for tag in ("<script", "<img", "<b>", "<i>", "<u>", "<em>", "<s>"):
        assert tag not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "a b" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "1,234.5" in page and "2024-01-01" in page
    assert table.iloc[0, 0] == "<img src=x onerror=alert(1)>"  # the input is left alone
    series = pd.Series([1, 2], index=["<b>a</b>", "b"], name="<i>n</i>")
    assert "<b>" not in html_table(series).to_html() and "<i>" not in html_table(series).to_html()


def test_describe_cohorts_and_clv_show_names_as_text():
    h = cohort_highlights(cohort_table(TX, "M"), min_size=1)
    h["best_cohort"] = "[x](javascript:alert(1))"
    page = _render(describe_cohorts(h))
    assert "<a" not in page and "[x](javascript:alert(1))" in html.unescape(page)
    clv = {"customers": 10, "clv_total": 200.0, "clv_mean": 20.0, "clv_median": 5.0,
           "top": 0.2, "top_share": 0.8, "gini": 0.6, "expected_alive": 7.0,
           "mean_alive": 0.7, "one_time_buyers": 0.5, "group_column": "<b>channel</b>",
           "best_group": "<img src=x onerror=alert(1)>", "best_group_clv": 30.0,
           "worst_group": "**low**\n# broken", "worst_group_clv": 2.0}
    page = _render(describe_clv(clv))
    assert {tag for tag, _ in _tags(page)} <= {"ul", "li", "strong"}
    text = _text(page)
    assert "By <b>channel</b>: highest" in text
    assert "<img src=x onerror=alert(1)> (30.00)" in text and "**low** # broken (2.00)" in text
