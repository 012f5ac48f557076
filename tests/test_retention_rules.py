"""Retention rules as data: the 2019 change with its boundary, Civil Code period ends, overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from jukistore.retention import rules as R

D = dt.date


@pytest.fixture(scope="module")
def rules() -> R.Rules:
    return R.load()


def test_every_kind_has_a_rule_with_basis_and_source(rules):
    assert rules.kinds() == list(R.KINDS)
    for r in rules:
        assert r.basis and r.source.startswith("L")
        assert r.clock == R.KINDS[r.applies_to]


@pytest.mark.parametrize("removed, governs, last_day", [
    # 5 years had run out by 2019-06-20 (the last day kept is 2019-06-19): the old rule governs.
    (D(2014, 6, 19), "removed-5y", D(2019, 6, 19)),
    (D(2010, 1, 1), "removed-5y", D(2015, 1, 1)),
    # Still kept on 2019-06-20: the new rule governs, 150 years from the removal.
    (D(2014, 6, 20), "removed-150y", D(2164, 6, 20)),
    (D(2019, 6, 19), "removed-150y", D(2169, 6, 19)),
    (D(2019, 6, 20), "removed-150y", D(2169, 6, 20)),
    (D(2024, 2, 29), "removed-150y", D(2174, 2, 28)),  # no 29 February in 2174: the month's last day
])
def test_the_2019_change_and_its_boundary(rules, removed, governs, last_day):
    rule, end = rules.governing("removed_person", removed)
    assert (rule.id, end) == (governs, last_day)
    # Kept through the last day, erased from the day after (a minimum period).
    assert rules.due("removed_person", removed, last_day) == (False, rule)
    assert rules.due("removed_person", removed, last_day + dt.timedelta(days=1)) == (True, rule)


def test_removal_before_2014_06_20_was_due_on_the_day_the_change_took_effect(rules):
    assert rules.due("removed_person", D(2014, 6, 19), D(2019, 6, 20))[0]
    assert not rules.due("removed_person", D(2014, 6, 20), D(2019, 6, 21))[0]
    assert not rules.due("removed_person", D(2014, 6, 20), D(2164, 6, 20))[0]


def test_mailing_data_is_never_kept_a_full_year(rules):
    sent = D(2025, 3, 1)
    assert not rules.due("mailing", sent, D(2026, 2, 28))[0]
    assert rules.due("mailing", sent, D(2026, 3, 1))[0]


@pytest.mark.parametrize("kind, as_of, cutoff", [
    ("access_log", D(2026, 11, 27), D(2019, 11, 27)),
    ("provision_record", D(2026, 11, 27), D(2021, 11, 27)),
])
def test_log_cutoffs(rules, kind, as_of, cutoff):
    c = rules.cutoff(kind, as_of)
    assert c == cutoff
    assert rules.due(kind, c - dt.timedelta(days=1), as_of)[0]
    assert not rules.due(kind, c, as_of)[0]


def test_municipal_override_lengthens_and_is_named(tmp_path, rules):
    (tmp_path / "retention.toml").write_text(
        '[[overrides]]\nrule = "access-log-7y"\nperiod = "10y"\nbasis = "墨田区条例 (example)"\n', encoding="utf-8")
    r = R.load(store=tmp_path)
    rule, end = r.governing("access_log", D(2020, 1, 1))
    assert (str(rule.period), rule.override, end) == ("10y", "墨田区条例 (example)", D(2030, 1, 1))
    # The others are as the law has them.
    assert r.governing("provision_record", D(2020, 1, 1))[0] == rules.governing("provision_record", D(2020, 1, 1))[0]


@pytest.mark.parametrize("text, message", [
    ('[[overrides]]\nrule = "removed-150y"\nperiod = "100y"\nbasis = "x"\n', "field period: 100y is shorter"),
    ('[[overrides]]\nrule = "mailing-1y"\nperiod = "2y"\nbasis = "x"\n', "field period: 2y is longer"),
    ('[[overrides]]\nrule = "nope"\nperiod = "2y"\nbasis = "x"\n', "field rule: no rule 'nope'"),
    ('[[overrides]]\nrule = "mailing-1y"\nperiod = "6m"\n', "field basis: missing"),
    ('[[overrides]]\nrule = "mailing-1y"\nperiod = "six months"\nbasis = "x"\n', "field period: expected"),
    # These raised AttributeError (an override not a table), and a bare ValueError from the first
    # date a period past year 9999 was counted from (plans included).
    ("overrides = [1]\n", "override 0: expected a table"),
    ('overrides = "x"\n', "overrides must be an array of tables"),
    ('[[overrides]]\nrule = "removed-150y"\nperiod = "9000y"\nbasis = "x"\n', "field period: 9000y is too long"),
])
def test_bad_overrides_are_refused_naming_the_field(tmp_path, text, message):
    p = tmp_path / "o.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(R.RuleError, match=message):
        R.load(overrides=p)


def test_shortening_mailing_is_allowed(tmp_path):
    p = tmp_path / "o.toml"
    p.write_text('[[overrides]]\nrule = "mailing-1y"\nperiod = "6m"\nbasis = "区の運用"\n', encoding="utf-8")
    assert R.load(overrides=p).due("mailing", D(2025, 1, 31), D(2025, 7, 31))[0]


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace('period = "5y"', 'period = "5 years"'), "rule 'removed-5y': field period"),
    (lambda t: t.replace('applies_to = "mailing"', 'applies_to = "letters"'), "field applies_to"),
    (lambda t: t.replace('in_force_until = "2019-06-19"', 'in_force_until = "2019-06-20"'),
     "field in_force_until: must end before rule 'removed-150y'"),
    (lambda t: t.replace('in_force_from = "2019-06-20"', 'in_force_from = "20190620"'), "field in_force_from"),
    (lambda t: t.replace('clock = "sent_date"', 'clock = "entry_date"'), "field clock"),
])
def test_bad_rules_are_refused_naming_rule_and_field(tmp_path, mutate, message):
    from importlib import resources

    text = resources.files("jukistore.rules").joinpath("retention.toml").read_text(encoding="utf-8")
    p = tmp_path / "rules.toml"
    p.write_text(mutate(text), encoding="utf-8")
    with pytest.raises(R.RuleError, match=message):
        R.load(p)


# ---- the Civil Code's count at month ends and leap days (民法140条, 143条) ----------------------

def test_150_years_from_28_february_end_on_29_february_of_a_leap_year() -> None:
    """The count starts on 1 March, so the period ends the day before 1 March 150 years on."""
    from jukistore.retention import rules as R

    rules = R.load()
    _, end = rules.governing("removed_person", dt.date(2022, 2, 28))
    assert end == dt.date(2172, 2, 29)
    assert not rules.due("removed_person", dt.date(2022, 2, 28), dt.date(2172, 2, 29))[0]
    assert rules.due("removed_person", dt.date(2022, 2, 28), dt.date(2172, 3, 1))[0]
    assert not rules.due("removed_person", dt.date(2011, 2, 28), dt.date(2016, 2, 29))[0]
    assert not rules.due("access_log", dt.date(2017, 2, 28), dt.date(2024, 2, 29))[0]


@pytest.mark.parametrize("start, n, unit, end", [
    ("2019-04-30", 1, "m", "2019-05-31"),  # 起算日 1 May; its day in June is 1 June
    ("2019-01-30", 1, "m", "2019-02-28"),  # 起算日 31 January; February has no 31st: its last day
    ("2019-01-31", 1, "m", "2019-02-28"),
    ("2020-02-29", 1, "y", "2021-02-28"),
    ("2019-12-31", 1, "y", "2020-12-31"),
    ("2020-03-15", 150, "y", "2170-03-15"),
    ("2020-03-15", 10, "d", "2020-03-25"),
])
def test_period_ends_as_the_civil_code_counts(start: str, n: int, unit: str, end: str) -> None:
    from jukistore.retention.rules import Period

    assert Period(n, unit).end(dt.date.fromisoformat(start)) == dt.date.fromisoformat(end)


def test_a_cutoff_retires_what_is_due_on_the_day_itself(tmp_path):
    """Mailing data shortened to be erased on the day it is sent ("0d", a maximum: due on its last
    day): the cutoff stopped at as_of, so entries sent that day stayed though due() said they were
    due. The cutoff is the first clock date not due, whatever the period."""
    p = tmp_path / "o.toml"
    p.write_text('[[overrides]]\nrule = "mailing-1y"\nperiod = "0d"\nbasis = "区の運用"\n', encoding="utf-8")
    r = R.load(overrides=p)
    as_of = D(2026, 1, 1)
    assert r.due("mailing", as_of, as_of)[0]
    c = r.cutoff("mailing", as_of)
    assert c == D(2026, 1, 2)
    assert r.due("mailing", c - dt.timedelta(days=1), as_of)[0] and not r.due("mailing", c, as_of)[0]


def test_a_rules_entry_that_is_not_a_table_is_refused_naming_it(tmp_path):
    p = tmp_path / "rules.toml"
    p.write_text("rules = [1]\n", encoding="utf-8")
    with pytest.raises(R.RuleError, match="rule 0: expected a table"):
        R.load(p)
