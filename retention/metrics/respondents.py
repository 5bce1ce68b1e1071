"""Survey answers next to what the respondents do: each answer with its customer's RFM segment
and acquisition attributes from the transaction log."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from retention.checks import require_columns
from retention.engine import lazy
from retention.metrics.segments import rfm_segments

__all__ = ["RFM_SEGMENT", "join_respondents"]

#: Column of :func:`join_respondents` holding each respondent's RFM segment.
RFM_SEGMENT = "RFM segment"


def join_respondents(
    answers: pd.DataFrame,
    tx: pd.DataFrame,
    *,
    customer: str = "customer_id",
    date: str = "response_date",
    columns: Sequence[str] = (),
) -> pd.DataFrame:
    """The answers of the log's customers, with each respondent's RFM segment and attributes.

    Parameters
    ----------
    answers : DataFrame
        One row per survey response, with a customer id column and an answer date.
    tx : DataFrame
        Canonical transaction log (:func:`retention.load_transactions`).
    customer, date : str
        Customer id and answer date columns of ``answers``. Ids are matched as text, so
        ``42`` in the survey matches ``"42"`` in the log.
    columns : sequence of str
        Log columns to attach where the survey lacks them (e.g. ``"channel"``): the value on
        the customer's first row in the log. Names the log lacks too are left out.

    Returns
    -------
    DataFrame
        The answers of customers found in the log (dates parsed), plus :data:`RFM_SEGMENT`
        (categorical, in the segment grid's order, on the log's last day) and the attached
        columns. ``attrs["n_answers"]`` and ``attrs["n_unmatched"]`` count the answers read
        and those of customers not in the log (left out).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "channel": ["web", "web", "shop"],
    ...                    "order_date": pd.to_datetime(["2024-01-02", "2024-03-01", "2024-02-10"]),
    ...                    "revenue": [20.0, 35.0, 12.0]})
    >>> answers = pd.DataFrame({"customer_id": ["a", "b", "z"], "nps": [9, 6, 10],
    ...                         "response_date": ["2024-03-05", "2024-02-20", "2024-03-01"]})
    >>> joined = join_respondents(answers, tx, columns=["channel"])
    >>> joined[["customer_id", "nps", "channel"]].to_dict("list")
    {'customer_id': ['a', 'b'], 'nps': [9, 6], 'channel': ['web', 'shop']}
    >>> joined.attrs["n_unmatched"]
    1
    """
    tx = lazy.in_memory(tx, "join_respondents")
    require_columns(answers, what="the survey answers", customer=customer, date=date)
    ids = tx["customer_id"].astype("str")
    keys = answers[customer].astype("str")
    matched = keys.isin(ids).to_numpy()
    out = answers.loc[matched].copy()
    keys = keys[matched]
    out[date] = pd.to_datetime(out[date]).astype("datetime64[ns]")
    segments = rfm_segments(tx)["segment"]
    segments.index = segments.index.astype("str")
    out[RFM_SEGMENT] = pd.Categorical(
        keys.map(segments), categories=segments.cat.categories, ordered=False
    )
    attach = [c for c in columns if c not in out.columns and c in tx.columns]
    if attach:
        first = tx.sort_values("order_date", kind="stable").drop_duplicates("customer_id")
        first = first.set_index(first["customer_id"].astype("str"))
        for column in attach:
            out[column] = keys.map(first[column]).to_numpy()
    out.attrs = {"n_answers": int(len(answers)), "n_unmatched": int((~matched).sum())}
    return out
