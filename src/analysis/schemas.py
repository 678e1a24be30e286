"""Data contracts: the three canonical tables (cases, audit returns, ratings).

Every column is declared once here, with its type, whether it is required, its allowed
values and a plain-English description.  The same declarations drive

* ingest (``analysis.ingest``): parsing, value synonyms, quarantine rules;
* validation of the canonical tables with pandera (``pandera_schema``), used at ingest and
  whenever a notebook loads a table;
* the data dictionary page (``data_dictionary_markdown``; ``sqa dictionary``).

Code lists follow the Department for Education children in need census where one exists
(age bands, gender, ethnicity major groups, referral source codes 1A-10) and the Ofsted
Annex A lists (contacts, early help, referrals); the audit standards come from a
configurable template (default: the Hackney 2011 tier-2 audit, ``config/standards.yml``)
and the levels of need from a configurable scale (``config/scales.yml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from . import yamlfile

__all__ = ["AGE_BANDS", "AGE_BAND_LABELS", "ANSWER_LABELS", "ANSWER_SYNONYMS", "Column",
           "ColumnType", "ETHNICITY", "ETHNICITY_SYNONYMS", "GENDER", "GENDER_SYNONYMS", "GRADE",
           "GRADE_SYNONYMS", "KINDS", "Kind", "OUTCOME", "OUTCOME_SYNONYMS", "REFERRAL_SOURCE",
           "REFERRAL_SOURCE_SYNONYMS", "ROUTE", "ROUTE_SYNONYMS", "SERVICE", "SERVICE_SYNONYMS",
           "SHIPPED_STANDARDS", "Scale", "Standards", "TRIAGE_GRADE", "TRIAGE_SYNONYMS",
           "TableSpec", "ANNEX_A_TABLES", "annex_a_spec", "audit_spec", "cases_spec",
           "answer_label", "data_dictionary_markdown", "load_scale", "load_standards",
           "pandera_schema", "ratings_spec", "shipped_standards", "spec_for", "validate"]

Kind = Literal["cases", "audit", "ratings"]
KINDS: tuple[str, ...] = ("cases", "audit", "ratings")

ColumnType = Literal["id", "pseudonym", "str", "category", "level", "answer", "date", "bool", "int",
                     "text"]


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    type: ColumnType
    required: bool
    description: str
    allowed: tuple[str, ...] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    nullable: bool = True
    # personal: never shown on the published site (identifiers, free text, dates of birth)
    personal: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns plus the input-only columns it is derived from."""

    kind: str
    description: str
    columns: tuple[Column, ...]
    inputs: tuple[Column, ...] = ()  # accepted at ingest, transformed, never stored
    unique: tuple[str, ...] = ()
    # the date column an age band is reckoned at (date of birth -> age band at that date)
    age_at: str | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in (*self.columns, *self.inputs):
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


# --------------------------------------------------------------------------------------
# Configuration: audit standards template and levels-of-need scale
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standards:
    """An audit template: standards (answered yes/partly/no/...) and theme flags."""

    name: str
    source: str
    answers: tuple[str, ...]
    met: tuple[str, ...]
    not_met: tuple[str, ...]
    standards: tuple[dict[str, str], ...]
    themes: tuple[dict[str, str], ...]

    @property
    def standard_keys(self) -> list[str]:
        return [s["key"] for s in self.standards]

    @property
    def theme_keys(self) -> list[str]:
        return [t["key"] for t in self.themes]

    def label(self, key: str) -> str:
        for s in (*self.standards, *self.themes):
            if s["key"] == key:
                return s["label"]
        raise KeyError(key)

    def has(self, key: str) -> bool:
        """Whether the template has the standard ``key`` (a board's own template may lack a
        Hackney standard such as ``referral_appropriate``)."""
        return key in self.standard_keys

    def answer_label(self, answer: str) -> str:
        """The reader's word for an answer code (``ANSWER_LABELS``; else the code in words)."""
        return answer_label(answer)

    @property
    def not_counted(self) -> tuple[str, ...]:
        """Answers left out of the denominator (neither met nor not met)."""
        return tuple(a for a in self.answers if a not in self.met and a not in self.not_met)


@dataclass(frozen=True)
class Scale:
    """An ordered levels-of-need scale (least to most need)."""

    name: str
    label: str
    levels: tuple[str, ...]
    labels: dict[str, str]
    synonyms: dict[str, str]
    #: What a page calls one level ("tier" for Hackney, else "level").
    noun: str = "level"
    #: Where a case is referred on to, in the scale's words ("tier 3" for Hackney).
    escalation: str = "children's social care"

    def position(self, level: str) -> int:
        return self.levels.index(level)


def _read_yaml(path: str | Path | None, default: str) -> dict[str, Any]:
    if path is None:
        text = resources.files("analysis").joinpath("config", default).read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    try:
        data = yamlfile.load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path or default}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path or default}: expected a YAML mapping at the top level")
    return data


def _answer(v: object) -> str:
    # YAML 1.1 reads unquoted yes/no as booleans: turn them back into answer codes.
    return {True: "yes", False: "no"}.get(v, str(v)) if isinstance(v, bool) else str(v)


#: Audit templates shipped with the package, by the name a round file may give
#: (``standards: graded``): name -> file in ``analysis/config/``.
SHIPPED_STANDARDS = {"hackney": "standards.yml", "graded": "standards_graded.yml"}


def shipped_standards(name: str) -> Path | None:
    """The packaged file of a shipped audit template named ``name`` (``hackney``, ``graded``),
    or None when ``name`` is not one (then it is a path)."""
    file = SHIPPED_STANDARDS.get(str(name))
    return Path(str(resources.files("analysis").joinpath("config", file))) if file else None


def load_standards(path: str | Path | None = None) -> Standards:
    """Load an audit template: a YAML path, a shipped template's name (``hackney``,
    ``graded``: ``SHIPPED_STANDARDS``), or None for the Hackney 2011 standards."""
    shipped = shipped_standards(str(path)) if path is not None else None
    path = shipped or path
    d = _read_yaml(path, "standards.yml")
    try:
        return Standards(
            name=str(d["name"]),
            source=str(d.get("source", "")),
            answers=tuple(_answer(a) for a in d["answers"]),
            met=tuple(_answer(a) for a in d.get("met", ["yes"])),
            not_met=tuple(_answer(a) for a in d.get("not_met", ["partly", "no"])),
            standards=tuple(
                {"key": str(s["key"]), "label": str(s["label"]),
                 "question": str(s.get("question", ""))}
                for s in d["standards"]
            ),
            themes=tuple(
                {"key": str(t["key"]), "label": str(t["label"])} for t in d.get("themes", [])
            ),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(
            f"{path or 'standards.yml'}: audit template is missing {exc}; "
            "it needs name, answers, standards (key, label) and themes (key, label)"
        ) from exc


@cache
def _scales_file() -> dict[str, Any]:
    return _read_yaml(None, "scales.yml")


def load_scale(name: str | None = None) -> Scale:
    """Load a levels-of-need scale by name (``hackney`` or ``four_level``)."""
    d = _scales_file()
    name = name or d["default"]
    if name not in d["scales"]:
        raise ValueError(f"unknown levels-of-need scale {name!r}; "
                         f"choose one of {sorted(d['scales'])}")
    s = d["scales"][name]
    return Scale(
        name=name,
        label=s["label"],
        levels=tuple(str(x) for x in s["levels"]),
        labels={str(k): v for k, v in s.get("labels", {}).items()},
        synonyms={str(k): str(v) for k, v in s.get("synonyms", {}).items()},
        noun=str(s.get("noun", "level")),
        escalation=str(s.get("escalation", "children's social care")),
    )


# --------------------------------------------------------------------------------------
# Code lists
# --------------------------------------------------------------------------------------

AGE_BANDS = ("unborn", "under_1", "1_to_4", "5_to_9", "10_to_15", "16_and_over")
AGE_BAND_LABELS = {
    "unborn": "Unborn", "under_1": "Under 1", "1_to_4": "1 to 4", "5_to_9": "5 to 9",
    "10_to_15": "10 to 15", "16_and_over": "16 and over",
}

GENDER = {"male": "Male", "female": "Female", "unknown": "Not known / not recorded",
          "indeterminate": "Indeterminate"}
GENDER_SYNONYMS = {"m": "male", "f": "female", "boy": "male", "girl": "female",
                   "not known": "unknown", "not stated": "unknown", "not recorded": "unknown",
                   "unknown": "unknown", "u": "unknown",
                   # Ofsted Annex A: "c) Not stated/recorded", "d) Neither"
                   "not stated/recorded": "unknown", "neither": "indeterminate"}

ETHNICITY = {"white": "White", "mixed": "Mixed", "asian": "Asian or Asian British",
             "black": "Black or Black British", "other": "Other ethnic group",
             "refused": "Refused", "not_obtained": "Information not yet obtained"}
# DfE ethnicity codes (CIN census) to major groups.
ETHNICITY_SYNONYMS = {
    **{c: "white" for c in ("wbri", "wiri", "woth", "wirt", "wrom", "white british", "white irish",
                            "any other white background", "white other")},
    **{c: "mixed" for c in ("mwbc", "mwba", "mwas", "moth", "mixed other", "mixed/multiple")},
    **{c: "asian" for c in ("aind", "apkn", "aban", "aoth", "asian", "asian british",
                            "indian", "pakistani", "bangladeshi")},
    **{c: "black" for c in ("bcrb", "bafr", "both", "black", "black british", "caribbean",
                            "african")},
    **{c: "other" for c in ("chne", "ooth", "chinese", "any other ethnic group")},
    "refu": "refused", "nobt": "not_obtained", "not obtained": "not_obtained",
    "not known": "not_obtained", "unknown": "not_obtained",
}

REFERRAL_SOURCE = {
    "police": "Police", "school": "Schools and education services", "health": "Health services",
    "la_services": "Local authority services", "self_family": "Individual (self, family, carer)",
    "housing": "Housing", "other_legal": "Other legal agency (courts, probation, prison)",
    "voluntary": "Voluntary sector", "anonymous": "Anonymous", "other": "Other",
    "unknown": "Unknown",
}
# CIN census source codes and Annex A wording.
REFERRAL_SOURCE_SYNONYMS = {
    "1a": "self_family", "1b": "self_family", "1c": "self_family", "1d": "self_family",
    "individual": "self_family", "family": "self_family", "self": "self_family",
    "self/family": "self_family", "family member": "self_family", "parent": "self_family",
    "2a": "school", "2b": "school", "schools": "school", "education": "school",
    "education services": "school",
    "3a": "health", "3b": "health", "3c": "health", "3d": "health", "3e": "health", "3f": "health",
    "gp": "health", "health visitor": "health", "health services": "health", "a&e": "health",
    "midwife": "health", "midwifery": "health", "hospital": "health",
    "4": "la_services", "la": "la_services", "local authority": "la_services",
    "la services": "la_services", "social care": "la_services",
    "5a": "police", "5b": "other_legal", "5c": "other_legal", "5d": "other_legal",
    "6": "other_legal", "courts": "other_legal", "probation": "other_legal",
    "7": "other", "8": "anonymous", "9": "unknown", "10": "housing",
    "voluntary sector": "voluntary", "charity": "voluntary", "not known": "unknown",
    # Ofsted Annex A forms (after the "q) " prefix): "6: Police", "2A: Schools"... (Ofsted
    # ILACS Annex A; liia-tools Annex_A_schema.yml). Distinct from the bare codes above.
    **{f"{c}: individual": "self_family" for c in ("1a", "1b", "1c", "1d")},
    "2a: schools": "school", "2b: education services": "school",
    **{f"{c}: health services": "health" for c in ("3a", "3b", "3c", "3d", "3e", "3f")},
    "4: housing": "housing",
    **{f"{c}: la services": "la_services" for c in ("5a", "5b", "5c", "5d")},
    "6: police": "police", "7: other legal agency": "other_legal", "8: other": "other",
    "9: anonymous": "anonymous", "10: unknown": "unknown",
}

ROUTE = {"single_agency": "Single agency", "multi_agency_forum": "Via a multi-agency forum"}
ROUTE_SYNONYMS = {"single": "single_agency", "single agency": "single_agency",
                  "multi agency": "multi_agency_forum", "multi-agency": "multi_agency_forum",
                  "multi-agency forum": "multi_agency_forum", "panel": "multi_agency_forum",
                  "triage": "multi_agency_forum"}

SERVICE = {
    "front_door": "Front door (contacts)",
    "partnership_triage": "Partnership Triage",
    "mat_panel": "Multi-agency team (MAT) panel",
    "yprrp": "Youth Partnership Resource and Review Panel (YPRRP)",
    "tier2_social_work": "Tier-2 social work",
    "first_response_team": "First Response Team (referrals to CSC)",
    "family_intervention_project": "Family intervention project (FiP)",
    "school_map": "School multi-agency panel (MAP)",
    "health_visiting": "Health visiting",
    "early_help": "Early help",
}
SERVICE_SYNONYMS = {"triage": "partnership_triage", "mat": "mat_panel",
                    "frt": "first_response_team",
                    "fip": "family_intervention_project", "map": "school_map",
                    "hv": "health_visiting", "ffd": "front_door", "mash": "front_door",
                    "family front door": "front_door", "tier 2 social work": "tier2_social_work"}

OUTCOME = {
    "nfa": "No further action", "advice_signposting": "Advice or signposting",
    "early_help": "Early help", "tier2_service": "Tier-2 (targeted) service",
    "assessment": "Assessment (section 17)",
    "strategy_discussion": "Strategy discussion (section 47)",
    "open_case": "Already open to CSC",
}
OUTCOME_SYNONYMS = {"no further action": "nfa", "n": "nfa", "nfa?": "nfa",
                    "advice": "advice_signposting",
                    "signposting": "advice_signposting", "eh": "early_help", "s17": "assessment",
                    "single assessment": "assessment", "s47": "strategy_discussion",
                    "strategy": "strategy_discussion", "tier 2": "tier2_service"}

TRIAGE_GRADE = {"standard": "Standard", "medium": "Medium", "high": "High"}
TRIAGE_SYNONYMS = {"std": "standard", "low": "standard", "med": "medium", "h": "high",
                   "m": "medium",
                   "s": "standard"}

GRADE = {"outstanding": "Outstanding", "good": "Good",
         "requires_improvement": "Requires improvement", "inadequate": "Inadequate"}
GRADE_SYNONYMS = {"ri": "requires_improvement", "requires improvement": "requires_improvement",
                  "requires improvement to be good": "requires_improvement"}

ANSWER_LABELS = {"yes": "Yes", "partly": "Partly", "no": "No", "not_applicable": "Not applicable",
                 "insufficient_information": "Insufficient information",
                 "outstanding": "Outstanding", "good": "Good",
                 "requires_improvement": "Requires improvement", "inadequate": "Inadequate"}
ANSWER_SYNONYMS = {"y": "yes", "n": "no", "p": "partly", "partial": "partly", "partially": "partly",
                   "n/a": "not_applicable", "na": "not_applicable",
                   "not applicable": "not_applicable",
                   "insufficient information": "insufficient_information",
                   "insufficient info": "insufficient_information",
                   "unknown": "insufficient_information",
                   # graded templates (Ofsted words): "RI", "Requires improvement to be good"
                   "ri": "requires_improvement",
                   "requires improvement to be good": "requires_improvement",
                   "requires improvement": "requires_improvement",
                   "req improvement": "requires_improvement", "inad": "inadequate"}


def answer_label(answer: str) -> str:
    """The reader's word for an answer code: ``ANSWER_LABELS``, else the code with spaces
    (``requires_improvement`` -> "Requires improvement")."""
    return ANSWER_LABELS.get(answer) or str(answer).replace("_", " ").capitalize()


def _cat(name: str, required: bool, description: str, codes: dict[str, str],
         synonyms: dict[str, str] | None = None, nullable: bool = True) -> Column:
    return Column(name, "category", required, description, allowed=tuple(codes), labels=dict(codes),
                  synonyms=dict(synonyms or {}), nullable=nullable)


# --------------------------------------------------------------------------------------
# The three tables
# --------------------------------------------------------------------------------------


def cases_spec(scale: Scale | None = None) -> TableSpec:
    """The cases table: one row per contact, referral or tier-2 case."""
    scale = scale or load_scale()
    level = dict(zip(scale.levels, (scale.labels.get(lv, lv) for lv in scale.levels), strict=True))
    return TableSpec(
        kind="cases",
        description="One row per contact, referral or tier-2 case (Ofsted Annex A lists 1-3, "
        "tier-2 service case lists).",
        columns=(
            Column("case_id", "pseudonym", True, "Case (contact, referral or episode) identifier, "
                   "pseudonymised at ingest with keyed HMAC-SHA256.", nullable=False,
                   personal=True),
            Column("child_id", "pseudonym", True, "Child identifier (Annex A 'Child Unique ID'), "
                   "pseudonymised at ingest.", nullable=False, personal=True),
            Column("age_band", "category", True, "Age band at the date of contact, derived at "
                   "ingest "
                   "from date of birth or age in years; the date of birth is not kept (DfE bands).",
                   allowed=AGE_BANDS, labels=AGE_BAND_LABELS, nullable=True),
            _cat("gender", True, "Gender (DfE CIN census codes).", GENDER, GENDER_SYNONYMS),
            _cat("ethnicity", False, "Ethnicity, DfE major group (CIN census codes accepted).",
                 ETHNICITY, ETHNICITY_SYNONYMS),
            Column("contact_date", "date", True, "Date of contact (or of referral to the tier-2 "
                   "service).", nullable=False),
            Column("referral_date", "date", False, "Date the contact became a referral to "
                   "children's "
                   "social care, if it did."),
            _cat("referral_source", True, "Who made the contact (CIN census source codes 1A-10 "
                 "accepted).", REFERRAL_SOURCE, REFERRAL_SOURCE_SYNONYMS),
            _cat("route", True, "Whether the case came from a single agency or via a multi-agency "
                 "forum (triage, panel).", ROUTE, ROUTE_SYNONYMS),
            _cat("service", True, "Service holding or processing the case.", SERVICE,
                 SERVICE_SYNONYMS, nullable=False),
            Column("level_of_need", "level", True, f"Level of need held (scale: {scale.label}).",
                   allowed=scale.levels, labels=level, synonyms=scale.synonyms),
            Column("referrer_level", "level", False, "Level of need the referrer suggested.",
                   allowed=scale.levels, labels=level, synonyms=scale.synonyms),
            _cat("outcome", True, "Outcome of the contact or referral.", OUTCOME, OUTCOME_SYNONYMS),
            Column("domestic_abuse", "bool", True, "Domestic abuse is a factor (e.g. a police "
                   "domestic-abuse notification)."),
            _cat("triage_grade", False, "Domestic-abuse triage grade (standard, medium, high).",
                 TRIAGE_GRADE, TRIAGE_SYNONYMS),
            Column("previous_csc", "bool", True, "Previously known to children's social care."),
            Column("team", "str", False, "Team holding the case (Annex A 'Allocated Team')."),
            Column("referrals_last_12m", "int", False, "Number of referrals in the previous 12 "
                   "months (Annex A list 3)."),
            Column("first_concern_date", "date", False, "Date a concern was first recorded by the "
                   "tier-2 service (for delay to tier 3)."),
            Column("tier3_referral_date", "date", False, "Date referred on to tier 3, if it was."),
            Column("assessment_start_date", "date", False, "Start date of the social work "
                   "assessment, if any."),
            Column("assessment_end_date", "date", False, "Completion date of the assessment."),
        ),
        inputs=(
            Column("date_of_birth", "date", False, "Date of birth: used only to derive age_band at "
                   "ingest, then dropped.", personal=True),
            Column("age_years", "int", False, "Age in years (Annex A 'Age of Child (Years)'): "
                   "used to derive age_band when no date of birth is given, then dropped."),
        ),
        unique=("case_id",),
        age_at="contact_date",
    )


def audit_spec(standards: Standards | None = None, scale: Scale | None = None) -> TableSpec:
    """The audit returns table: one row per case per auditor."""
    standards = standards or load_standards()
    scale = scale or load_scale()
    answers = {a: answer_label(a) for a in standards.answers}
    cols: list[Column] = [
        Column("case_id", "pseudonym", True, "Audited case, as in the sample manifest "
               "(pseudonymised; raw ids are pseudonymised at ingest).", nullable=False,
               personal=True),
        Column("auditor_id", "str", True, "Auditor (initials or staff code).", nullable=False,
               personal=True),
        Column("auditor_agency", "str", False,
               "Auditor's agency (police, health, CSC, education...)."),
        Column("audit_date", "date", False, "Date of the audit."),
    ]
    for s in standards.standards:
        cols.append(Column(f"std_{s['key']}", "answer", True, f"Standard: {s['label']}. "
                           f"{s.get('question', '')}".strip(), allowed=tuple(answers),
                           labels=answers, synonyms=ANSWER_SYNONYMS))
    cols += [
        _cat("overall_grade", False, "Overall grade of practice (Ofsted scale).", GRADE,
             GRADE_SYNONYMS),
        Column("tier_judged", "level", False, "Level of need the auditor judges right for the "
               f"case (scale: {scale.label}).", allowed=scale.levels,
               labels=dict(zip(scale.levels, scale.levels, strict=True)), synonyms=scale.synonyms),
        _cat("triage_grade_judged", False, "Domestic-abuse triage grade the auditor judges right "
             "(standard, medium, high), for audits of triage grading.", TRIAGE_GRADE,
             TRIAGE_SYNONYMS),
    ]
    for t in standards.themes:
        cols.append(Column(f"theme_{t['key']}", "bool", False, f"Theme: {t['label']}."))
    cols.append(Column("notes", "text", False, "Auditor's free-text notes. Never published.",
                       personal=True))
    return TableSpec(kind="audit", description=f"One row per case per auditor. Template: "
                     f"{standards.name}.", columns=tuple(cols), unique=("case_id", "auditor_id"))


def ratings_spec(scale: Scale | None = None) -> TableSpec:
    """The ratings table: one row per subject per rater (threshold-consistency exercises)."""
    scale = scale or load_scale()
    level = dict(zip(scale.levels, scale.levels, strict=True))
    return TableSpec(
        kind="ratings",
        description="One row per subject (vignette or case) per rater, for threshold-consistency "
        "exercises.",
        columns=(
            Column("subject_id", "pseudonym", True, "Vignette or case graded (pseudonymised).",
                   nullable=False, personal=True),
            Column("rater_id", "str", True, "Rater (practitioner code).", nullable=False,
                   personal=True),
            Column("rater_agency", "str", True, "Rater's agency (police, school, health, CSC...)."),
            Column("level", "level", True, f"Level of need the rater gave (scale: {scale.label}).",
                   allowed=scale.levels, labels=level, synonyms=scale.synonyms),
            Column("reference_level", "level", False, "Reference level (panel consensus), if set.",
                   allowed=scale.levels, labels=level, synonyms=scale.synonyms),
        ),
        unique=("subject_id", "rater_id"),
    )


# --------------------------------------------------------------------------------------
# Ofsted Annex A lists (one canonical table per list)
# --------------------------------------------------------------------------------------

# Source of the lists and their columns: Ofsted, "Inspecting local authority children's
# services" (ILACS), Annex A (the data lists a council gives inspectors: 1 contacts, 2 early
# help, 3 referrals, 4 assessments, 5 section 47 enquiries and ICPCs, 6 children in need,
# 7 child protection plans, 8 children looked after, 9 care leavers, 10 adoption, 11
# adopters), as encoded column by column in Social Finance's open-source liia-tools
# (``liiatools/annex_a_pipeline/spec/Annex_A_schema.yml``). Header variants are in the
# shipped mapping ``mappings/annex_a_lists.yml``.

YES_NO_UNKNOWN = {"yes": "Yes", "no": "No", "unknown": "Unknown"}
YES_NO_UNKNOWN_SYNONYMS = {"y": "yes", "n": "no", "not known": "unknown", "u": "unknown"}

#: table name -> (list number, title, main date column, unique key)
ANNEX_A_TABLES: dict[str, tuple[int, str, str | None, tuple[str, ...]]] = {
    "list1_contacts": (1, "contacts", "contact_date", ("child_id", "contact_date")),
    "list2_early_help": (2, "early help assessments", "eh_start_date",
                         ("child_id", "eh_start_date")),
    "list3_referrals": (3, "referrals", "referral_date", ("child_id", "referral_date")),
    "list4_assessments": (4, "assessments", "assessment_start_date",
                          ("child_id", "assessment_start_date")),
    "list5_section47": (5, "section 47 enquiries and ICPCs", "s47_start_date",
                        ("child_id", "s47_start_date")),
    "list6_children_in_need": (6, "children in need", "cin_start_date", ()),
    "list7_cp_plans": (7, "child protection plans", "plan_start_date",
                       ("child_id", "plan_start_date")),
    "list8_looked_after": (8, "children looked after", "cla_start_date",
                           ("child_id", "cla_start_date")),
    "list9_care_leavers": (9, "care leavers", None, ("child_id",)),
    "list10_adoption": (10, "adoption", "entered_care_date", ()),
}


_ANNEX_ROW = {"list1_contacts": "contact", "list2_early_help": "early help assessment",
              "list3_referrals": "referral", "list4_assessments": "assessment",
              "list5_section47": "section 47 enquiry", "list6_children_in_need":
              "child in need", "list7_cp_plans": "child protection plan",
              "list8_looked_after": "period of care", "list9_care_leavers": "care leaver",
              "list10_adoption": "child with an adoption decision"}


def _d(name: str, description: str, required: bool = False) -> Column:
    return Column(name, "date", required, description, nullable=not required)


def _annex_columns(table: str) -> tuple[Column, ...]:
    team = Column("team", "str", False, "Allocated team (Annex A 'Allocated Team').")
    disability = _cat("disability", False, "Does the child have a disability (yes, no, "
                      "unknown).", YES_NO_UNKNOWN, YES_NO_UNKNOWN_SYNONYMS)
    cols: dict[str, tuple[Column, ...]] = {
        "list1_contacts": (
            _d("contact_date", "Date of contact.", True),
            _cat("referral_source", False, "Contact source (Annex A codes such as 'q) 6: "
                 "Police' or CIN census codes).", REFERRAL_SOURCE, REFERRAL_SOURCE_SYNONYMS)),
        "list2_early_help": (
            _d("eh_start_date", "Early help assessment start date.", True),
            _d("eh_end_date", "Early help assessment completion date."),
            Column("eh_organisation", "str", False, "Organisation completing the early help "
                   "assessment.")),
        "list3_referrals": (
            _d("referral_date", "Date of referral to children's social care.", True),
            _cat("referral_source", False, "Referral source.", REFERRAL_SOURCE,
                 REFERRAL_SOURCE_SYNONYMS),
            Column("referral_nfa", "bool", False, "The referral led to no further action "
                   "(Annex A 'Referral NFA?')."),
            Column("referrals_last_12m", "int", False, "Number of referrals in the last 12 "
                   "months."), team),
        "list4_assessments": (
            disability,
            _d("assessment_start_date", "Continuous assessment start date.", True),
            _cat("child_seen", False, "Child seen during the assessment.", YES_NO_UNKNOWN,
                 YES_NO_UNKNOWN_SYNONYMS),
            _d("assessment_end_date", "Continuous assessment date of completion "
               "(authorisation)."),
            _cat("needs_csc_support", False, "Was the child assessed as requiring children's "
                 "social care support.", YES_NO_UNKNOWN, YES_NO_UNKNOWN_SYNONYMS), team),
        "list5_section47": (
            disability,
            _d("s47_start_date", "Strategy discussion initiating the section 47 enquiry: start "
               "date.", True),
            Column("icpc_unnecessary", "bool", False, "An initial child protection conference "
                   "(ICPC) was deemed unnecessary."),
            _d("icpc_date", "Date of the initial child protection conference."),
            Column("icpc_plan", "bool", False, "The ICPC resulted in a child protection plan."),
            Column("s47_last_12m", "int", False, "Number of section 47 enquiries in the last "
                   "12 months."),
            Column("icpcs_last_12m", "int", False, "Number of ICPCs in the last 12 months."),
            team),
        "list6_children_in_need": (
            disability,
            _d("cin_start_date", "Children in need episode start date."),
            Column("primary_need", "str", False, "Primary need code (N1-N9, N0)."),
            _d("cin_closure_date", "Children in need episode closure date."),
            Column("case_status", "str", False, "Case status (looked after, child protection "
                   "plan, child in need plan, open assessment, closed)."), team),
        "list7_cp_plans": (
            disability,
            _d("plan_start_date", "Child protection plan start date.", True),
            Column("initial_category", "str", False, "Initial category of abuse."),
            Column("latest_category", "str", False, "Latest category of abuse."),
            _d("plan_end_date", "Child protection plan end date."),
            Column("previous_plans", "int", False, "Number of previous child protection plans "
                   "(a plan with one or more is a repeat plan, DfE)."), team),
        "list8_looked_after": (
            disability,
            Column("uasc", "bool", False, "Unaccompanied asylum-seeking child within the last "
                   "12 months."),
            _d("cla_start_date", "Date started to be looked after.", True),
            Column("legal_status", "str", False, "Child's legal status (C1, C2, V2, ...)."),
            Column("placements_last_12m", "int", False, "Number of placements in the last 12 "
                   "months."),
            _d("cla_end_date", "Date ceased to be looked after."), team),
        "list9_care_leavers": (
            disability,
            Column("eligibility", "str", False, "Care leaver eligibility category."),
            Column("in_touch", "str", False, "In touch category."),
            Column("activity", "str", False, "Main activity (education, training, employment)."),
            Column("accommodation", "str", False, "Type of accommodation."), team),
        "list10_adoption": (
            disability,
            _d("entered_care_date", "Date the child entered care."),
            _d("adoption_decision_date", "Date of the decision that the child should be placed "
               "for adoption."),
            _d("placement_order_date", "Date of the placement order."),
            _d("matched_date", "Date of matching child and prospective adopters."),
            _d("placed_date", "Date placed for adoption."),
            _d("adoption_order_date", "Date of the adoption order.")),
    }
    return cols[table]


@cache
def annex_a_spec(table: str) -> TableSpec:
    """The canonical table of one Ofsted Annex A list (``ANNEX_A_TABLES``): the child
    (pseudonymised), age band, gender and ethnicity, then the list's own columns."""
    number, title, date_col, unique = ANNEX_A_TABLES[table]
    return TableSpec(
        kind=table,
        description=f"Ofsted Annex A list {number} ({title}): one row per "
        f"{_ANNEX_ROW[table]}. Read from the council's Annex A workbook.",
        columns=(
            Column("child_id", "pseudonym", True, "Child identifier (Annex A 'Child Unique "
                   "ID'), pseudonymised at ingest.", nullable=False, personal=True),
            Column("age_band", "category", False, "Age band (at the list's main date, or at "
                   "ingest), derived from date of birth or age in years; the date of birth is "
                   "not kept (empty when the list has neither).", allowed=AGE_BANDS,
                   labels=AGE_BAND_LABELS),
            _cat("gender", False, "Gender (Annex A codes such as 'b) Female').", GENDER,
                 GENDER_SYNONYMS),
            _cat("ethnicity", False, "Ethnicity, DfE major group.", ETHNICITY,
                 ETHNICITY_SYNONYMS),
            *_annex_columns(table),
        ),
        inputs=(
            Column("date_of_birth", "date", False, "Date of birth: used only to derive "
                   "age_band at ingest, then dropped.", personal=True),
            Column("age_years", "int", False, "Age of child (years): used when no date of "
                   "birth is given, then dropped."),
        ),
        unique=unique,
        age_at=date_col,
    )


def spec_for(kind: str, standards: Standards | None = None, scale: Scale | None = None
             ) -> TableSpec:
    """The TableSpec for ``kind`` (cases, audit or ratings)."""
    if kind == "cases":
        return cases_spec(scale)
    if kind == "audit":
        return audit_spec(standards, scale)
    if kind == "ratings":
        return ratings_spec(scale)
    if kind in ANNEX_A_TABLES:
        return annex_a_spec(kind)
    raise ValueError(f"unknown table kind {kind!r}; choose one of "
                     f"{', '.join((*KINDS, *ANNEX_A_TABLES))}")


# --------------------------------------------------------------------------------------
# pandera schema (validation of the canonical table)
# --------------------------------------------------------------------------------------


def pandera_schema(spec: TableSpec):  # -> pandera.pandas.DataFrameSchema
    """Build the pandera ``DataFrameSchema`` of a canonical table.

    Types, allowed values, required-ness and uniqueness all come from ``spec``; the result
    validates a table produced by ingest (or loaded by a notebook) with ``lazy=True`` so that
    every failure is reported with its row.
    """
    import pandera.pandas as pa

    cols: dict[str, Any] = {}
    for c in spec.columns:
        checks = []
        if c.allowed is not None:
            checks.append(pa.Check.isin(list(c.allowed), name=f"allowed values of {c.name}"))
        if c.type == "pseudonym":
            checks.append(pa.Check.str_matches(r"^[a-z]{2}_[0-9a-f]{16}$",
                                               name="pseudonymised identifier"))
        if c.type == "int":
            checks.append(pa.Check.ge(0, name=f"{c.name} is not negative"))
        dtype: Any = {
            "date": "datetime64[ns]", "bool": "boolean", "int": "Int64",
        }.get(c.type)
        cols[c.name] = pa.Column(dtype, checks=checks, nullable=c.nullable, required=c.required,
                                 coerce=False)
    unique = list(spec.unique) if spec.unique else None
    return pa.DataFrameSchema(cols, strict=False, unique=unique, name=spec.kind)


def validate(df: pd.DataFrame, kind: str, standards: Standards | None = None,
             scale: Scale | None = None) -> pd.DataFrame:
    """Validate a canonical table against its contract (raises pandera's SchemaErrors)."""
    return pandera_schema(spec_for(kind, standards, scale)).validate(df, lazy=True)


# --------------------------------------------------------------------------------------
# Data dictionary
# --------------------------------------------------------------------------------------


def data_dictionary_markdown(standards: Standards | None = None, scale: Scale | None = None) -> str:
    """The data dictionary page, generated from the contracts above."""
    lines = [
        "---", "title: Data dictionary", "---", "",
        "What each table the analysis reads holds, column by column: the data contract every "
        "file is checked against when it is read in. Columns marked *personal* are never "
        "published: the site shows only aggregate, disclosure-controlled figures.", "",
    ]
    for kind in (*KINDS, *ANNEX_A_TABLES):
        spec = spec_for(kind, standards, scale)
        lines += [f"## {kind}", "", spec.description, "",
                  "| column | type | required | allowed values | description |",
                  "|---|---|---|---|---|"]
        for c in spec.columns:
            allowed = ", ".join(f"`{a}` ({c.labels.get(a, a)})" if c.labels.get(a, a) != a
                                else f"`{a}`" for a in c.allowed) if c.allowed else ""
            if c.type == "bool":
                allowed = "true / false (yes/no, y/n, 1/0 accepted)"
            desc = c.description + (" *personal*" if c.personal else "")
            lines.append(f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | {allowed} "
                         f"| {desc} |")
        if spec.inputs:
            lines += ["", "Accepted at ingest but not stored:", ""]
            for c in spec.inputs:
                lines.append(f"- `{c.name}`: {c.description}")
        if spec.unique:
            lines += ["", f"Unique key: {', '.join(f'`{u}`' for u in spec.unique)}."]
        lines.append("")
    return "\n".join(lines)
