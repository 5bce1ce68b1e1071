"""Synthetic customer-survey answers joined to a transaction log.

:func:`sample_survey` simulates a post-purchase survey sent to the customers of a
transaction log (by default the bundled sample, ``data/sample_transactions.csv``), so that
the survey metrics (:mod:`retention.metrics.survey`) can be tried next to the purchase data:

* **Who answers.** Each customer answers once with probability ``response_rate``, about one
  of their purchases chosen at random among those made at least two weeks before the end of
  the log. The answer comes 1-14 days after that purchase (``1 + Poisson(3)``, capped).
* **What they answer.** A latent satisfaction ``s = 0.1 + 0.6 * log(1 + repeat purchases so
  far) - 1.4 * (refund before answering) + Normal(0, 1)`` drives every answer, each with its
  own noise: likelihood to recommend (NPS, 0-10), satisfaction (CSAT, 1-5), ease (CES,
  1-7: "the company made it easy for me"), and ratings (1-5) of three attributes, product,
  delivery and price, each with an importance answer (1-5) that does not depend on ``s``.
  So customers with more repeat purchases score higher and customers who had a refund lower.
* **Missing answers.** About 2 % of the NPS, CSAT and CES answers and 1 % of the attribute
  ratings and importance answers are left blank, as in real exports.

Run as a module to write the bundled file::

    python -m retention.io.survey_sample --output data/sample_survey.csv
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from retention.checks import fraction, require_columns, whole_number
from retention.io.sample import bundled_file, sample_path

__all__ = ["ATTRIBUTES", "sample_survey", "sample_survey_path"]

#: Attributes rated (``rating_<name>``) and weighed (``importance_<name>``), in column order.
ATTRIBUTES: tuple[str, ...] = ("product", "delivery", "price")

#: Latent satisfaction: intercept, effect of log(1 + repeat purchases), effect of a refund.
_BASE, _REPEAT_EFFECT, _REFUND_EFFECT = 0.1, 0.6, -1.4
#: Answer = round(centre + slope * s + Normal(0, noise)), clipped to the scale.
_ANSWERS: dict[str, tuple[float, float, float, int, int]] = {
    #          centre slope noise low high
    "nps": (7.5, 1.7, 0.9, 0, 10),
    "csat": (3.8, 0.8, 0.5, 1, 5),
    "ces": (5.1, 1.0, 0.8, 1, 7),
    "rating_product": (3.9, 0.7, 0.6, 1, 5),
    "rating_delivery": (3.7, 0.6, 0.7, 1, 5),
    "rating_price": (3.3, 0.5, 0.7, 1, 5),
}
#: Mean importance answer (1-5) of each attribute; answers are round(mean + Normal(0, 0.8)).
_IMPORTANCE = {"product": 4.3, "delivery": 3.8, "price": 3.4}
#: Share of blank answers: the three headline questions, then the attribute questions.
_MISSING_HEADLINE, _MISSING_ATTRIBUTE = 0.02, 0.01
#: Purchases this close to the end of the log are not surveyed; answer delays are capped to it.
_LAST_DAYS = 14
_MEAN_DELAY = 3.0

_SCORE_COLUMNS = (
    "nps", "csat", "ces",
    *(f"rating_{a}" for a in ATTRIBUTES),
    *(f"importance_{a}" for a in ATTRIBUTES),
)


def sample_survey(
    tx: pd.DataFrame | None = None,
    *,
    seed: int = 0,
    response_rate: float = 0.25,
) -> pd.DataFrame:
    """Simulate survey answers from some of the customers of a transaction log.

    See the module documentation for the generating process. The result is deterministic:
    the same log, ``seed`` and ``response_rate`` give an identical frame.

    Parameters
    ----------
    tx : DataFrame, optional
        Transaction log in the canonical schema (``customer_id``, ``order_date``,
        ``revenue``; ``order_id``, ``channel`` and ``country`` are carried over when present).
        Default: the bundled sample, read with :func:`retention.load_transactions`.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`.
    response_rate : float, default 0.25
        Probability that a customer answers (once), in (0, 1]. With the bundled sample
        (3,000 customers) the default gives 718 answers.

    Returns
    -------
    DataFrame
        One row per answer, sorted by ``response_date`` then ``customer_id``, with a fresh
        ``RangeIndex`` and the columns ``response_id`` (``"S00001"`` ...), ``customer_id``,
        ``response_date`` (datetime64[ns]), ``order_id`` (the purchase asked about, if the log
        has order ids), ``channel`` and ``country`` (if the log has them), then the answers as
        nullable integers (``Int64``, ``<NA>`` for a blank): ``nps`` (0-10), ``csat`` (1-5),
        ``ces`` (1-7), ``rating_product``, ``rating_delivery``, ``rating_price`` (1-5) and
        ``importance_product``, ``importance_delivery``, ``importance_price`` (1-5).

    Raises
    ------
    ValueError
        If ``tx`` lacks a column, has no purchase at least two weeks before its last date, or
        ``seed`` or ``response_rate`` are out of range.

    Examples
    --------
    >>> from retention.io.survey_sample import sample_survey
    >>> survey = sample_survey(seed=0)
    >>> len(survey), int(survey["nps"].isna().sum())
    (718, 7)
    >>> survey[["response_id", "customer_id", "response_date", "nps", "csat", "ces"]].head(3)
      response_id customer_id response_date  nps  csat   ces
    0      S00001     C000003    2023-01-06    9     4  <NA>
    1      S00002     C000014    2023-01-13    7     3     5
    2      S00003     C000022    2023-01-15    8     5     7
    """
    seed = whole_number("seed", seed, minimum=0)
    response_rate = fraction("response_rate", response_rate, open_low=True)
    if tx is None:
        from retention.io.load import load_transactions

        tx = load_transactions(sample_path())
    require_columns(tx, customer="customer_id", date="order_date", amount="revenue")
    dates = pd.to_datetime(tx["order_date"]).to_numpy(dtype="datetime64[ns]")
    revenue = tx["revenue"].to_numpy(dtype=float)
    customer_codes, customers = pd.factorize(tx["customer_id"], sort=True)
    last_day = dates.max()
    cutoff = last_day - np.timedelta64(_LAST_DAYS, "D")

    # eligible purchases, sorted by customer, date, row
    eligible = np.flatnonzero((revenue > 0) & (dates <= cutoff))
    if eligible.size == 0:
        raise ValueError(
            f"tx has no purchase (positive revenue) at least {_LAST_DAYS} days before its last "
            f"date {pd.Timestamp(last_day).date()}, so there is nothing to survey."
        )
    eligible = eligible[np.lexsort((eligible, dates[eligible], customer_codes[eligible]))]
    owner = customer_codes[eligible]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    sizes = np.diff(np.r_[starts, owner.size])

    rng = np.random.default_rng(seed)
    answers = rng.random(starts.size) < response_rate
    starts, sizes = starts[answers], sizes[answers]
    n = int(starts.size)
    chosen = eligible[starts + np.minimum((rng.random(n) * sizes).astype(np.int64), sizes - 1)]
    delay = 1 + np.minimum(rng.poisson(_MEAN_DELAY, n), _LAST_DAYS - 1)
    response_date = (dates[chosen].astype("datetime64[D]") + delay).astype("datetime64[ns]")
    who = customer_codes[chosen]

    # behaviour up to the answer: purchases so far and any refund
    purchases_so_far = np.zeros(n, dtype=np.int64)
    refunded = np.zeros(n, dtype=bool)
    position = np.full(len(customers), -1, dtype=np.int64)
    position[who] = np.arange(n)
    row_answer = position[customer_codes]
    surveyed = row_answer >= 0
    before = surveyed.copy()
    before[surveyed] = dates[surveyed] <= response_date[row_answer[surveyed]]
    np.add.at(purchases_so_far, row_answer[before & (revenue > 0)], 1)
    refunded[row_answer[before & (revenue < 0)]] = True

    satisfaction = (
        _BASE
        + _REPEAT_EFFECT * np.log1p(np.maximum(purchases_so_far - 1, 0))
        + _REFUND_EFFECT * refunded
        + rng.normal(0.0, 1.0, n)
    )
    out: dict[str, object] = {}
    for column, (centre, slope, noise, low, high) in _ANSWERS.items():
        raw = centre + slope * satisfaction + rng.normal(0.0, noise, n)
        out[column] = np.clip(np.round(raw), low, high).astype(np.int64)
    for attribute in ATTRIBUTES:
        raw = _IMPORTANCE[attribute] + rng.normal(0.0, 0.8, n)
        out[f"importance_{attribute}"] = np.clip(np.round(raw), 1, 5).astype(np.int64)
    blanks = {
        column: rng.random(n)
        < (_MISSING_HEADLINE if column in ("nps", "csat", "ces") else _MISSING_ATTRIBUTE)
        for column in _SCORE_COLUMNS
    }

    survey = pd.DataFrame(
        {
            "customer_id": customers.take(who),
            "response_date": response_date,
        }
    )
    for column in ("order_id", "channel", "country"):
        if column in tx.columns:
            survey[column] = tx[column].to_numpy()[chosen]
    for column in _SCORE_COLUMNS:
        values = pd.array(out[column], dtype="Int64")
        values[blanks[column]] = pd.NA
        survey[column] = values
    order = np.lexsort((who, response_date))
    survey = survey.iloc[order].reset_index(drop=True)
    width = max(5, len(str(n)))
    survey.insert(0, "response_id", [f"S{i:0{width}d}" for i in range(1, n + 1)])
    survey["response_id"] = survey["response_id"].astype("str")
    return survey


def sample_survey_path() -> Path:
    """Path of the bundled survey sample, ``data/sample_survey.csv``, from any directory.

    In a source checkout this is the file in the repository's ``data/`` folder; where the
    package is installed without it, the file is generated once into the user's cache folder.

    Examples
    --------
    >>> sample_survey_path().name
    'sample_survey.csv'
    """
    return bundled_file("sample_survey.csv", lambda path: write_survey_csv(sample_survey(), path))


def write_survey_csv(survey: pd.DataFrame, path: str | Path) -> None:
    """Write survey answers as CSV in the format of ``data/sample_survey.csv``.

    Dates as ``YYYY-MM-DD``, blank answers as empty fields, ``\\n`` line endings, no index,
    so the file is byte-identical on every platform.

    Examples
    --------
    >>> import io, pandas as pd
    >>> buffer = io.StringIO()
    >>> survey = pd.DataFrame({"response_date": pd.to_datetime(["2024-01-02"]),
    ...                        "nps": pd.array([pd.NA], dtype="Int64")})
    >>> write_survey_csv(survey, buffer)
    >>> buffer.getvalue()
    'response_date,nps\\n2024-01-02,\\n'
    """
    survey.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\n")


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m retention.io.survey_sample",
        description="Write synthetic survey answers of the bundled sample's customers as CSV.",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--response-rate", type=float, default=0.25,
        help="probability that a customer answers (default 0.25)",
    )
    parser.add_argument("--output", required=True, type=Path, help="CSV file to write")
    args = parser.parse_args(argv)
    write_survey_csv(
        sample_survey(seed=args.seed, response_rate=args.response_rate), args.output
    )


if __name__ == "__main__":
    _main()
