import math

import pytest
from latentzoo_contrastive_temperature.trend import axis_trends, ranks, spearman


def test_ranks_with_ties():
    assert ranks([3.0, 1.0, 2.0]) == [3.0, 1.0, 2.0]
    assert ranks([1.0, 5.0, 5.0, 0.0]) == [2.0, 3.5, 3.5, 1.0]


def test_spearman_by_hand():
    x = [0.05, 0.1, 0.2, 0.5, 1.0]
    assert spearman(x, [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert spearman(x, [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    # one adjacent swap: 1 − 6·(1 + 1)/(5·24) = 0.9
    assert spearman(x, [2, 1, 3, 4, 5]) == pytest.approx(0.9)
    assert math.isnan(spearman(x, [1, 1, 1, 1, 1]))


def test_axis_trends_groups_arms():
    def arm(x, value):
        return {"x": x, "metrics": {"u": {"mean": value, "std": 0.0}}}

    report = {"arms": {"a@t=1": arm(1.0, 3.0), "a@t=0.1": arm(0.1, 1.0), "a@t=0.5": arm(0.5, 2.0),
                       "b@t=1": arm(1.0, 0.0), "b@t=0.1": arm(0.1, 1.0), "other": {"x": None, "metrics": {}}}}
    assert axis_trends(report) == {"a": {"u": pytest.approx(1.0)}, "b": {"u": pytest.approx(-1.0)}}
