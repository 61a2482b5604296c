"""The printable report's content through the test client (issue 17): the KPIs as server-drawn
SVG sparklines, the heat map and the A4 print rules; the sparkline geometry."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.builders import WebDemo
from transform.web.leadership_pages import SPARK_HEIGHT, SPARK_WIDTH, _sparkline

REPORT = "/o/demo/leadership/report/"


def test_a_sparkline_breaks_at_a_period_without_data() -> None:
    spark = _sparkline([None, 1.0, 3.0, None, 2.0])

    assert len(spark["lines"]) == 2
    assert len(spark["dots"]) == 3
    xs = [float(x) for x, _ in spark["dots"]]
    ys = [float(y) for _, y in spark["dots"]]
    assert xs == sorted(xs)
    assert all(0 <= x <= SPARK_WIDTH for x in xs)
    assert all(0 <= y <= SPARK_HEIGHT for y in ys)
    assert ys[1] < ys[0]  # the highest value is drawn highest (smallest y)


def test_a_sparkline_without_data_is_empty_and_a_flat_one_is_centred() -> None:
    assert _sparkline([None, None]) == {"lines": [], "dots": []}
    flat = _sparkline([4.0, 4.0, 4.0])
    assert {y for _, y in flat["dots"]} == {f"{SPARK_HEIGHT / 2:.1f}"}


@pytest.mark.django_db
def test_the_report_has_sparklines_the_heat_map_and_a4_print_rules(
    web_demo_answered: WebDemo,
) -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(username="leader"))

    html = client.get(REPORT).content.decode()

    assert html.count('class="report-spark"') == 9
    assert "<polyline" in html
    assert 'id="report-heat-map"' in html
    assert "Search Squad" in html.split('id="report-heat-map"', 1)[1]
    assert "@page { size: A4" in html
    assert 'class="lead-bar"' in html
    assert "<canvas" not in html
    assert 'id="lead-print"' in html
