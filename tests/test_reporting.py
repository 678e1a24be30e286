"""The reporting layer: one formatter, one rounding rule, words that follow the statistics."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from analysis.reporting import (
    cannot_tell,
    count,
    direction,
    interval,
    margin,
    number,
    p_value,
    pct,
    points,
    ratio,
    ratio_direction,
    round_half_up,
    share,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "analysis"


@pytest.mark.parametrize(("p", "text"), [(0.125, "13%"), (0.335, "34%"), (0.005, "1%"),
                                         (0.0049, "0%"), (0.995, "100%"), (1.0, "100%"),
                                         (0.0, "0%"), (-0.125, "−13%")])
def test_halves_are_rounded_up_the_same_way_everywhere(p: float, text: str) -> None:
    assert pct(p) == text


def test_round_half_up_works_on_the_decimal_form_not_the_binary_one() -> None:
    assert round_half_up(0.285, 2) == 0.29 and round(0.285, 2) == 0.28
    assert round_half_up(2.5) == 3.0 and round(2.5) == 2


def test_missing_values_never_print_as_zero() -> None:
    for f in (pct, count, number, ratio, p_value):
        assert f(None) == "n/a" and f(math.nan) == "n/a"
    assert points(None) == "not estimable" and interval(0.2, None) == "not estimable"


def test_an_observed_share_is_never_rounded_to_none_or_all() -> None:
    assert share(1, 1000) == "less than 1%" and share(999, 1000) == "more than 99%"
    assert share(0, 10) == "0%" and share(10, 10) == "100%" and share(1, 3) == "33%"


def test_intervals_points_ratios_counts_and_p_values() -> None:
    assert interval(0.61, 0.804) == "61% to 80%"
    assert interval(0.61, 0.804, style="between") == "between 61% and 80%"
    assert points(0.12) == "12 points" and points(0.01) == "1 point"
    assert points(-0.28, signed=True) == "−28 points" and points(0.45, signed=True) == "+45 points"
    assert margin(0.094) == "±9 points"
    assert ratio(0.565) == "0.57" and ratio(2.45) == "2.5" and ratio(36.5) == "37"
    assert count(12345) == "12,345" and number(0.125) == "0.13"
    assert p_value(0.1667) == "0.17" and p_value(0.0042) == "0.004" and p_value(2e-5) == "< 0.001"


def test_rise_or_fall_only_when_the_interval_and_the_stated_test_agree() -> None:
    assert direction(0.03, 0.88) == "up"
    assert direction(0.03, 0.88, p_value=0.167) == "unclear"  # the example
    assert direction(0.03, 0.88, p_value=0.01) == "up"
    assert direction(-0.5, -0.1, p_value=0.02) == "down"
    assert direction(-0.1, 0.2) == "unclear" and direction(math.nan, 0.2) == "unclear"
    assert ratio_direction(0.01, 23) == "unclear" and ratio_direction(1.2, 3.0) == "up"


def test_an_interval_that_spans_no_effect_reads_the_data_cannot_tell() -> None:
    assert cannot_tell("it changed") == "the data cannot tell whether it changed"


def test_no_module_formats_a_percentage_by_itself() -> None:
    """Every percentage passes through ``analysis.reporting``: no f-string percentage,
    ``round`` or ``floor`` of a share times 100 anywhere else in the package."""
    pattern = re.compile(r"100 ?\*[^}\n]*:\.\d+f\}\s*%|\*\s?100[^}\n]*:\.\d+f\}\s*%|:\.\d+%\}"
                         r"|floor\([^)\n]*100")
    offenders = []
    for f in sorted(SRC.rglob("*.py")):
        if "reporting" in f.parts or "synth" in f.parts:  # the synth package
            continue
        for i, line in enumerate(f.read_text("utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{f.relative_to(SRC)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_an_audit_finding_under_the_minimum_keeps_no_count_estimate_or_interval(
        tmp_path: Path) -> None:
    import pandas as pd

    from analysis.findings import Finding, FindingsLog

    log = FindingsLog("r1", "page")
    log.add(Finding("T2-HV-REFERRAL", text="1 of 1 health visiting cases met it (100%).",
                    group="Health visiting", measure="Referral appropriate", successes=1, n=1,
                    estimate=1.0, ci_low=0.21, ci_high=1.0), show=False)
    log.add(Finding("T2-ALL-REFERRAL", text="40 of 50 cases met it (80%).", successes=40, n=50,
                    estimate=0.8, ci_low=0.67, ci_high=0.89), show=False)
    log.add(Finding("HK2011-HV-REFERRAL", text="The report: 1 of 1.", successes=1, n=1,
                    estimate=1.0, ci_low=0.21, ci_high=1.0, basis="published"), show=False)
    df = pd.read_csv(log.write(tmp_path), keep_default_na=False).set_index("finding_id")
    small = df.loc["T2-HV-REFERRAL"]
    assert small["text"] == ("Health visiting, Referral appropriate: 1 case audited: too few "
                             "to report.")
    assert (small["successes"], small["estimate"], small["ci_low"], small["ci_high"]) == (
        "", "", "", "")
    assert small["reason"] == "fewer than 5 cases audited: too few to report"
    assert df.loc["T2-ALL-REFERRAL", "estimate"] == "0.8"
    assert df.loc["T2-ALL-REFERRAL", "reason"] == ""
    assert float(df.loc["HK2011-HV-REFERRAL", "estimate"]) == 1.0  # a published report, quoted


def test_the_minimum_is_a_setting() -> None:
    from analysis.reporting import configure, min_audited, reportable, too_few

    try:
        configure(10)
        assert min_audited() == 10 and not reportable(8) and reportable(8, min_n=5)
        assert too_few(8) == "8 cases audited: too few to report"
    finally:
        configure(None)
    assert min_audited() == 5 and reportable(5) and not reportable(4)
    with pytest.raises(ValueError):
        configure(0)


@pytest.mark.parametrize("n, text", [(0, "0 cases"), (1, "fewer than 5 cases"),
                                     (4, "fewer than 5 cases"), (5, "5 cases"),
                                     (12, "12 cases")])
def test_a_count_of_children_under_the_minimum_reads_fewer_than_the_minimum(n: int,
                                                                            text: str) -> None:
    from analysis.reporting import few_children

    assert few_children(n) == text


def test_the_officers_list_never_states_a_count_under_five() -> None:
    from analysis.reporting.review import officers_sentence

    assert "Fewer than 5 audited cases are listed" in officers_sentence(4)
    assert "No audited case" not in officers_sentence(0)
    assert "7 audited cases are listed" in officers_sentence(7)
    assert "0 audited cases are listed" in officers_sentence(0)


def test_a_level_comparison_no_contact_can_inform_is_named_in_one_line_not_tabled() -> None:
    import pandas as pd

    from analysis.reporting import thresholds as rp

    agree = pd.DataFrame({"comparison": ["Referrer v front door", "Front door v auditor"],
                          "n": [0, 12], "exact_agreement": [float("nan"), 0.5],
                          "within_one": [float("nan"), 0.9], "kappa": [float("nan"), 0.4],
                          "ci_low": [float("nan"), 0.1], "ci_high": [float("nan"), 0.7]})
    table = rp.level_agreement_display(agree)
    assert list(table["Comparison"]) == ["Front door v auditor"]
    line = rp.level_agreement_gaps(agree)
    assert "Referrer v front door" in line and "cannot be made" in line
    assert rp.level_agreement_gaps(agree[agree["n"] > 0]) == ""
