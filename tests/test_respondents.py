"""Survey answers joined to the transaction log."""

import pandas as pd
import pytest

from retention.metrics.respondents import RFM_SEGMENT, join_respondents
from retention.metrics.segments import default_grid


@pytest.fixture
def tx() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["1", "1", "2", "3"],
        "order_date": pd.to_datetime(["2024-01-02", "2024-03-01", "2024-02-10", "2024-03-20"]),
        "revenue": [20.0, 35.0, 12.0, 50.0],
        "channel": ["web", "shop", "shop", "web"],
    })


def test_ids_match_as_text_and_others_are_counted(tx):
    answers = pd.DataFrame({"customer_id": [1, 2, 9, 9], "nps": [9, 6, 10, 3],
                            "response_date": ["2024-03-05"] * 4})
    joined = join_respondents(answers, tx)
    assert joined["customer_id"].tolist() == [1, 2]
    assert joined.attrs == {"n_answers": 4, "n_unmatched": 2}
    assert joined["response_date"].dtype == "datetime64[ns]"


def test_segments_in_grid_order_and_first_purchase_attributes(tx):
    answers = pd.DataFrame({"customer_id": ["1", "3"], "nps": [9, 6],
                            "response_date": ["2024-03-05", "2024-03-25"]})
    joined = join_respondents(answers, tx, columns=["channel", "not_in_the_log"])
    assert joined["channel"].tolist() == ["web", "web"]  # customer 1's first order was on the web
    assert "not_in_the_log" not in joined
    grid_order = list(dict.fromkeys(default_grid()["segment"]))
    assert list(joined[RFM_SEGMENT].cat.categories) == grid_order


def test_the_survey_own_column_is_kept(tx):
    answers = pd.DataFrame({"customer_id": ["1"], "nps": [9], "response_date": ["2024-03-05"],
                            "channel": ["phone"]})
    assert join_respondents(answers, tx, columns=["channel"])["channel"].tolist() == ["phone"]


def test_missing_survey_column_is_named(tx):
    with pytest.raises(ValueError, match="response_date"):
        join_respondents(pd.DataFrame({"customer_id": ["1"], "nps": [9]}), tx)
