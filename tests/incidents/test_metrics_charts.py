"""Metric charts carry a value axis and say the same thing when there is nothing to draw."""

from incidents.charts import bar_chart


def count(value: float) -> str:
    return f"{value:.0f}"


def test_chart_has_a_labelled_value_axis_from_zero_to_the_peak():
    chart = bar_chart(title="Filed", labels=["a", "b"], values=[2.0, 4.0], format_value=count)
    assert [tick.label for tick in chart.ticks] == ["0", "2", "4"]
    assert chart.ticks[0].y == chart.baseline and chart.ticks[-1].y < chart.ticks[0].y
    assert all(bar.x >= chart.plot_left for bar in chart.bars)


def test_a_peak_of_one_does_not_label_zero_twice():
    chart = bar_chart(title="Open", labels=["a"], values=[1.0], format_value=count)
    assert [tick.label for tick in chart.ticks] == ["0", "1"]


def test_all_zero_data_is_empty_and_says_its_own_empty_text():
    chart = bar_chart(title="Open", labels=["a", "b"], values=[0.0, None], format_value=count,
                      empty_text="No open incidents.")
    assert chart.empty and chart.ticks == [] and chart.empty_text == "No open incidents."
