"""File dialects: separators, number marks, encodings, compression, Excel sheets and dates."""

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from retention.io.dialect import parse_dates
from retention.io.load import ValidationReport, duplicated_rows, load_transactions

MAPPING = dict(customer="client", date="day", amount="total")
#: The CDNOW master file beside the project (``../shared``).
CDNOW_MASTER = Path(__file__).resolve().parents[2] / "shared/data/cdnow/CDNOW_master.txt"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(sep: str = ",", decimal: str = ".") -> str:
    lines = [["client", "day", "total", "segment"],
             ["00042", "2024-01-03", "20.50", "web"],
             ["00042", "2024-02-10", "-5.25", "web"],
             ["00007", "2024-01-20", "12.00", "store"]]
    if decimal != ".":
        lines = [[v.replace(".", decimal) if i == 2 else v for i, v in enumerate(r)] for r in lines]
    return "\n".join(sep.join(r) for r in lines) + "\n"


EXPECTED = [20.5, -5.25, 12.0]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_each_separator_is_detected(tmp_path, sep):
    path = write(tmp_path / "tx.csv", rows(sep, "," if sep != "," else "."))
    tx, report = load_transactions(path, return_report=True, **MAPPING)
    assert tx["revenue"].tolist() == EXPECTED
    assert tx["customer_id"].tolist() == ["00042", "00042", "00007"]
    assert report.dialect["sep"] == sep and "sep" in report.dialect["detected"]
    assert tx.attrs["validation"]["dialect"]["sep"] == sep


def test_given_separator_is_not_reported_as_detected(tmp_path):
    path = write(tmp_path / "tx.txt", rows(";"))
    tx, report = load_transactions(path, sep=";", return_report=True, **MAPPING)
    assert tx["revenue"].tolist() == EXPECTED
    assert "sep" not in report.dialect["detected"]


def test_decimal_comma(tmp_path):
    path = write(tmp_path / "tx.csv", rows(";", ","))
    tx, report = load_transactions(path, return_report=True, **MAPPING)
    assert tx["revenue"].tolist() == EXPECTED
    assert report.dialect["decimal"] == ","
    assert "decimal ','" in str(report)


@pytest.mark.parametrize(
    ("amounts", "sep"),
    [
        (['"1,234.50"', '"12,000.00"', "7.25"], ","),
        (["1.234,50", "12.000,00", "7,25"], ";"),
        (["1 234,50", "12 000,00", "7,25"], ";"),
        (["1\u00a0234,50", "12\u00a0000,00", "7,25"], ";"),
        (["1'234.50", "12'000.00", "7.25"], ";"),
    ],
)
def test_thousands_marks(tmp_path, amounts, sep):
    text = f"client{sep}day{sep}total\n" + "".join(
        f"c{i}{sep}2024-01-0{i + 1}{sep}{a}\n" for i, a in enumerate(amounts)
    )
    path = write(tmp_path / "tx.csv", text)
    tx = load_transactions(path, **MAPPING)
    assert tx["revenue"].tolist() == [1234.5, 12000.0, 7.25]


def test_thousands_given(tmp_path):
    path = write(tmp_path / "tx.csv", "client;day;total\na;2024-01-01;1.234\nb;2024-01-02;5\n")
    tx = load_transactions(path, decimal=",", thousands=".", **MAPPING)
    assert tx["revenue"].tolist() == [1234.0, 5.0]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("€12.50", 12.5), ("12,50 €", 12.5), ("$1,200.00", 1200.0), ("£3.10", 3.1),
        ("150 ₽", 150.0), ("99,90 ₴", 99.9), ("10 лв", 10.0), ("EUR 12.50", 12.5),
        ("12.50 USD", 12.5), ("1 500 руб.", 1500.0), ("(12.50)", -12.5), ("12.50-", -12.5),
        ("-12.50", -12.5), ("- 3", -3.0),
    ],
)
def test_currency_symbols_and_signs(text, value):
    raw = pd.DataFrame({"client": ["a"], "day": ["2024-01-01"], "total": [text]})
    tx = load_transactions(raw, **MAPPING)
    assert tx["revenue"].iloc[0] == value


def test_text_amounts_still_not_numbers_are_bad_rows():
    raw = pd.DataFrame({"client": ["a", "b", "c"], "day": ["2024-01-01"] * 3,
                        "total": ["€12.50", "twelve", "12..5"]})
    with pytest.raises(ValueError) as info:
        load_transactions(raw, **MAPPING)
    message = str(info.value)
    assert "total: 2 rows with a missing or non-numeric amount" in message
    assert "'twelve'" in message and "'12..5'" in message


def test_utf8_bom(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes(rows().encode("utf-8-sig"))
    tx, report = load_transactions(path, return_report=True, **MAPPING)
    assert list(tx.columns[:3]) == ["customer_id", "order_date", "revenue"]
    assert report.dialect["encoding"] == "utf-8-sig"


def test_cp1251_with_cyrillic_segments(tmp_path):
    text = ("client;day;total;segment\n1;2024-01-03;12,50;Москва розница\n"
            "2;2024-01-04;3,10;Санкт-Петербург опт\n3;2024-01-05;7;Новый клиент\n")
    path = write(tmp_path / "tx.csv", text, "cp1251")
    tx, report = load_transactions(path, return_report=True, **MAPPING)
    assert tx["segment"].tolist() == ["Москва розница", "Санкт-Петербург опт", "Новый клиент"]
    assert report.dialect["encoding"] == "cp1251"
    assert "encoding" in report.dialect["detected"]
    assert "cp1251" in str(report)


def test_cp1252(tmp_path):
    text = ("client,day,total,segment\n1,2024-01-03,12.50,Café Zürich\n"
            "2,2024-01-04,3.10,Crème brûlée\n3,2024-01-05,7,Señor Müller\n")
    path = write(tmp_path / "tx.csv", text, "cp1252")
    tx, report = load_transactions(path, return_report=True, **MAPPING)
    assert tx["segment"].tolist() == ["Café Zürich", "Crème brûlée", "Señor Müller"]
    assert report.dialect["encoding"] == "cp1252"


def test_non_ascii_after_the_sample_is_still_decoded(tmp_path):
    body = "".join(f"{i},2024-01-03,1.5,web\n" for i in range(120_000))
    text = "client,day,total,segment\n" + body + "9,2024-01-03,1.5,Москва\n"
    path = write(tmp_path / "tx.csv", text, "cp1251")
    tx, report = load_transactions(path, return_report=True, **MAPPING)
    assert tx["segment"].iloc[-1] == "Москва"
    assert report.dialect["encoding"] == "cp1251"


@pytest.mark.parametrize("name", ["tx.csv", "tx.csv.gz"])
def test_gzip_by_content(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(gzip.compress(rows(";", ",").encode()))
    tx, report = load_transactions(path, return_report=True, **MAPPING)
    assert tx["revenue"].tolist() == EXPECTED
    assert report.dialect["compression"] == "gzip"


@pytest.mark.parametrize("suffix", [".bz2", ".xz", ".zip"])
def test_other_compressions(tmp_path, suffix):
    path = tmp_path / f"tx.csv{suffix}"
    frame = pd.read_csv(pd.io.common.StringIO(rows()), dtype={"client": str})
    frame.to_csv(path, index=False)
    assert load_transactions(path, **MAPPING)["revenue"].tolist() == EXPECTED


@pytest.mark.parametrize(
    ("content", "what"),
    [(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10, "PNG"),
     (None, "Parquet")],
)
def test_a_binary_file_named_csv(tmp_path, content, what):
    path = tmp_path / "tx.csv"
    if content is None:
        pd.DataFrame({"client": ["a"], "day": ["2024-01-01"], "total": [1.0]}).to_parquet(path)
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load_transactions(path, **MAPPING)
    message = str(info.value)
    assert "'tx.csv' is not a text/CSV file" in message and what in message


@pytest.fixture
def workbook(tmp_path) -> Path:
    path = tmp_path / "tx.xlsx"
    first = pd.DataFrame({"client": ["a", "b"], "day": ["2024-01-03", "2024-01-04"],
                          "total": [1.0, 2.0]})
    second = first.assign(total=[10.0, 20.0])
    with pd.ExcelWriter(path) as writer:
        first.to_excel(writer, sheet_name="Orders", index=False)
        second.to_excel(writer, sheet_name="Returns", index=False)
    return path


def test_excel_sheet_by_name_and_index(workbook):
    assert load_transactions(workbook, sheet="Returns", **MAPPING)["revenue"].tolist() == [
        10.0, 20.0]
    assert load_transactions(workbook, sheet=1, **MAPPING)["revenue"].tolist() == [10.0, 20.0]


def test_excel_default_first_sheet_is_reported(workbook):
    tx, report = load_transactions(workbook, return_report=True, **MAPPING)
    assert tx["revenue"].tolist() == [1.0, 2.0]
    assert report.dialect["sheet"] == "Orders" and report.dialect["other_sheets"] == ["Returns"]
    assert "read sheet 'Orders' (other sheets: 'Returns')" in str(report)
    assert ValidationReport.from_attrs(tx).dialect["sheet"] == "Orders"


def test_excel_unknown_sheet_lists_the_sheets(workbook):
    sheets = r"no sheet 'Sales'; its sheets are \['Orders', 'Returns'\]"
    with pytest.raises(ValueError, match=sheets):
        load_transactions(workbook, sheet="Sales", **MAPPING)
    with pytest.raises(ValueError, match="there is no sheet 5"):
        load_transactions(workbook, sheet=5, **MAPPING)


def frame_with_dates(days):
    return pd.DataFrame({"client": [f"c{i}" for i in range(len(days))], "day": days,
                         "total": [1.0] * len(days)})


def test_ambiguous_dates_are_an_error_with_both_readings():
    raw = frame_with_dates(["12.01.1997", "03.04.1997", "01.02.1997"])
    with pytest.raises(ValueError) as info:
        load_transactions(raw, **MAPPING)
    message = str(info.value)
    assert "column 'day'" in message
    assert "'12.01.1997' is 1997-01-12 day-first, 1997-12-01 month-first" in message
    assert "date_format=" in message and "dayfirst=" in message


def test_mixed_dates_are_an_error_with_both_readings():
    raw = frame_with_dates(["30.01.1997", "01.30.1997", "05.05.1997"])
    with pytest.raises(ValueError) as info:
        load_transactions(raw, **MAPPING)
    message = str(info.value)
    assert "column 'day'" in message and "mixed" in message
    assert "'30.01.1997' is 1997-01-30 day-first" in message
    assert "'01.30.1997' is 1997-30-01 day-first, 1997-01-30 month-first" in message


def test_day_first_is_detected_and_not_misread():
    # a day-first file whose first rows have days <= 12 used to be read month-first
    raw = frame_with_dates(["02.01.1997", "12.01.1997", "30.03.1997"])
    tx, report = load_transactions(raw, return_report=True, **MAPPING)
    assert tx["order_date"].tolist() == [
        pd.Timestamp("1997-01-02"), pd.Timestamp("1997-01-12"), pd.Timestamp("1997-03-30")]
    assert report.dialect["date_format"] == "%d.%m.%Y" and report.dialect["dayfirst"] is True
    assert "date_format" in report.dialect["detected"]
    assert "dates day-first %d.%m.%Y" in str(report)


def test_month_first_is_detected():
    raw = frame_with_dates(["3/4/2024", "3/30/2024"])
    tx = load_transactions(raw, **MAPPING)
    assert tx["order_date"].tolist() == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-03-30")]


@pytest.mark.parametrize(("dayfirst", "month"), [(True, 1), (False, 12)])
def test_dayfirst_resolves_ambiguity(dayfirst, month):
    raw = frame_with_dates(["12.01.1997", "03.04.1997"])
    tx, report = load_transactions(raw, dayfirst=dayfirst, return_report=True, **MAPPING)
    assert tx["order_date"].iloc[0].month == month
    assert report.dialect["dayfirst"] is dayfirst
    assert report.dialect["date_format"] == ("%d.%m.%Y" if dayfirst else "%m.%d.%Y")


def test_date_format_is_strict():
    raw = frame_with_dates(["12.01.1997", "1997-01-03"])
    with pytest.raises(ValueError, match="day: 1 rows with a missing, unparseable"):
        load_transactions(raw, date_format="%d.%m.%Y", **MAPPING)


def test_iso_compact_and_offsets():
    raw = frame_with_dates(["2024-01-05", "2024-01-05T10:00:00+02:00", "20240107",
                            "2024-01-08 11:30"])
    tx = load_transactions(raw, **MAPPING)
    assert tx["order_date"].tolist() == [
        pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-05 10:00"),
        pd.Timestamp("2024-01-07"), pd.Timestamp("2024-01-08 11:30")]
    ints = frame_with_dates([19970101, 19970112])
    assert load_transactions(ints, **MAPPING)["order_date"].iloc[1] == pd.Timestamp("1997-01-12")


def test_parse_dates_of_unique_values_keeps_missing():
    dates, info = parse_dates(pd.Series(["2024-01-01", None, "nope"], dtype=object))
    assert np.isnat(dates).tolist() == [False, True, True]
    assert info["date_format"] == "ISO8601"


@pytest.mark.skipif(not CDNOW_MASTER.is_file(), reason=f"CDNOW file absent: {CDNOW_MASTER}")
def test_cdnow_eu_reads_as_the_comma_iso_version(tmp_path):
    """The whole CDNOW log, columns renamed, as a European export (';', decimal comma,
    day-first dates, Windows-1251) and as a plain ISO CSV: the same frame."""
    raw = pd.read_csv(CDNOW_MASTER, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw.columns = ["client_id", "order_day", "qty", "total"]
    days = pd.to_datetime(raw["order_day"], format="%Y%m%d")
    raw.assign(order_day=days.dt.strftime("%d.%m.%Y")).to_csv(
        tmp_path / "eu.csv", sep=";", decimal=",", index=False, encoding="cp1251")
    raw.assign(order_day=days.dt.strftime("%Y-%m-%d")).to_csv(tmp_path / "iso.csv", index=False)
    spec = dict(customer="client_id", date="order_day", amount="total")
    eu, report = load_transactions(tmp_path / "eu.csv", return_report=True, as_of="2030-01-01",
                                   **spec)
    iso = load_transactions(tmp_path / "iso.csv", as_of="2030-01-01", **spec)
    pd.testing.assert_frame_equal(eu, iso, check_like=False, check_exact=True, check_flags=False,
                                  check_dtype=True)
    assert report.dialect["sep"] == ";" and report.dialect["decimal"] == ","
    assert report.dialect["date_format"] == "%d.%m.%Y"


def test_cdnow_eu_style_file(tmp_path):
    iso = ("client_id,order_day,qty,total,city\n00001,1997-01-01,1,11.77,Москва\n"
           "00002,1997-01-12,1,12.0,Тверь\n00002,1997-03-30,5,77.0,Тверь\n")
    eu = ("client_id;order_day;qty;total;city\n00001;01.01.1997;1;11,77;Москва\n"
          "00002;12.01.1997;1;12,0;Тверь\n00002;30.03.1997;5;77,0;Тверь\n")
    spec = dict(customer="client_id", date="order_day", amount="total")
    a, report = load_transactions(write(tmp_path / "eu.csv", eu, "cp1251"), return_report=True,
                                  **spec)
    b = load_transactions(write(tmp_path / "iso.csv", iso), **spec)
    pd.testing.assert_frame_equal(a, b, check_flags=False)
    assert report.dialect["encoding"] == "cp1251"
    assert set(report.dialect["detected"]) >= {"encoding", "sep", "decimal", "date_format"}
    assert "read as ';'-separated, decimal ',', cp1251; dates day-first %d.%m.%Y" in str(report)


def test_integer_ids_are_int64_and_padded_ids_text(tmp_path):
    path = write(tmp_path / "tx.csv", "client,day,total\n12,2024-01-01,1\n7,2024-01-02,2\n")
    assert load_transactions(path, **MAPPING)["customer_id"].dtype == np.int64
    path = write(tmp_path / "tx.csv", "client,day,total\n012,2024-01-01,1\n7,2024-01-02,2\n")
    assert load_transactions(path, **MAPPING)["customer_id"].tolist() == ["012", "7"]


def test_duplicated_rows_matches_pandas():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.integers(0, 5, 2000), "b": rng.integers(0, 3, 2000) * 0.5,
                       "c": rng.choice(["x", "y", None], 2000)})
    df.loc[::7, "b"] = np.nan
    assert (duplicated_rows(df) == df.duplicated().to_numpy()).all()
    assert (duplicated_rows(df, key=["a"]) == df.duplicated().to_numpy()).all()


def test_dataframe_report_has_only_the_date_format():
    raw = frame_with_dates(["2024-01-01"])
    report = load_transactions(raw, return_report=True, **MAPPING)[1]
    assert set(report.dialect) == {"date_format", "dayfirst", "detected"}


ENCODINGS = ["utf-8", "utf-8-sig", "cp1251", "cp1252"]
SEGMENTS = {"utf-8": "Zürich Москва", "utf-8-sig": "naïve", "cp1251": "Москва",
            "cp1252": "Café Zürich"}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sep=st.sampled_from([",", ";", "\t", "|"]),
    decimal=st.sampled_from([".", ","]),
    encoding=st.sampled_from(ENCODINGS),
    amounts=st.lists(
        st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False), min_size=1,
        max_size=30,
    ),
    days=st.lists(st.dates(min_value=pd.Timestamp("1990-01-01").date(),
                           max_value=pd.Timestamp("2030-12-31").date()), min_size=1, max_size=30),
)
def test_any_dialect_round_trips(tmp_path, sep, decimal, encoding, amounts, days):
    if sep == decimal:
        return
    n = min(len(amounts), len(days))
    frame = pd.DataFrame({
        "client": [f"{i:05d}" for i in range(n)],
        "day": pd.to_datetime(days[:n]),
        "total": [float(a) for a in amounts[:n]],
        "segment": [SEGMENTS[encoding]] * n,
    })
    path = tmp_path / f"rt_{ENCODINGS.index(encoding)}.csv"
    frame.to_csv(path, sep=sep, decimal=decimal, encoding=encoding, index=False,
                 date_format="%Y-%m-%d")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tx = load_transactions(path, as_of="2100-01-01", **MAPPING)
    assert tx["customer_id"].tolist() == frame["client"].tolist()
    assert tx["order_date"].tolist() == frame["day"].tolist()
    assert tx["revenue"].tolist() == frame["total"].tolist()
    assert tx["segment"].tolist() == frame["segment"].tolist()


def test_dialect_is_plain_json_and_survives_attrs(tmp_path):
    import json

    path = write(tmp_path / "tx.csv", rows(";", ","), "cp1251")
    tx = load_transactions(path, **MAPPING)
    dialect = json.loads(json.dumps(tx.attrs["validation"]))["dialect"]
    assert dialect == ValidationReport.from_attrs(tx).dialect
    assert dialect["sep"] == ";" and dialect["decimal"] == "," and dialect["compression"] is None
    tx.to_parquet(tmp_path / "tx.parquet")
    again = pd.read_parquet(tmp_path / "tx.parquet")
    assert ValidationReport.from_attrs(again).dialect == dialect


def test_tsv_and_quoted_fields(tmp_path):
    path = write(tmp_path / "tx.tsv", 'client\tday\ttotal\tnote\na\t2024-01-01\t1.5\t"x\ty"\n')
    tx = load_transactions(path, **MAPPING)
    assert tx["note"].tolist() == ["x\ty"]
    path = write(tmp_path / "q.csv", 'client,day,total,note\na,2024-01-01,1.5,"two\nlines"\n')
    assert load_transactions(path, **MAPPING)["note"].tolist() == ["two\nlines"]


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes(rows(";", ",").encode("utf-16"))
    tx, report = load_transactions(path, return_report=True, **MAPPING)
    assert tx["revenue"].tolist() == EXPECTED and report.dialect["encoding"] == "utf-16"
