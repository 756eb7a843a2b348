"""The child death review's lists in the words the seed report and the NCMD use. Pure.

The codes are the ``choices`` of ``workflows/child_death_review.yaml``; these are the labels
people read (pages, the annual report), in the order they are reported.
"""

from __future__ import annotations

AGE_BANDS: dict[str, str] = {
    "0_to_27_days": "0-27 days", "28_to_364_days": "28-364 days", "1_to_4_years": "1-4 years",
    "5_to_9_years": "5-9 years", "10_to_14_years": "10-14 years",
    "15_to_17_years": "15-17 years",
}
SEXES: dict[str, str] = {"male": "Boys", "female": "Girls", "not_known": "Not known"}
# One child's sex on a form (the report counts boys and girls).
SEX: dict[str, str] = {"male": "Male", "female": "Female", "not_known": "Not known"}
ABUSE_OR_NEGLECT: dict[str, str] = {"none": "None known", "suspected": "Suspected",
                                    "known": "Known"}
# The ten categories of death, numbered as the CDOP analysis form and the seed report number
# them.
CATEGORIES: dict[str, tuple[int, str]] = {
    "deliberately_inflicted_injury": (1, "Deliberately inflicted injury, abuse or neglect"),
    "suicide_or_self_harm": (2, "Suicide or deliberate self-inflicted harm"),
    "trauma_external_factors": (3, "Trauma and other external factors"),
    "malignancy": (4, "Malignancy"),
    "acute_medical_or_surgical": (5, "Acute medical or surgical condition"),
    "chronic_medical": (6, "Chronic medical condition"),
    "chromosomal_genetic_congenital": (7, "Chromosomal, genetic and congenital anomalies"),
    "perinatal_neonatal": (8, "Perinatal/neonatal event"),
    "infection": (9, "Infection"),
    "sudden_unexpected_unexplained": (10, "Sudden unexpected or unexplained death"),
}
DOMAINS: dict[str, str] = {"child": "The child", "parenting": "Parenting",
                           "environment": "The environment",
                           "service": "Service provision"}
JAR_REASONS: dict[str, str] = {
    "external_causes": "The death is or could be due to external causes",
    "sudden_unexplained": "Sudden, with no immediately apparent cause (SUDI/SUDC)",
    "custody_or_detention": "In custody or detained under the Mental Health Act",
    "suspicious_circumstances": "The initial circumstances raise suspicion",
    "unattended_stillbirth": "A stillbirth with no healthcare professional present",
}


def category_code(text: str) -> str | None:
    """'8', '08' or 'perinatal_neonatal' -> 'perinatal_neonatal'; None if neither."""
    value = text.strip().lower()
    if value in CATEGORIES:
        return value
    if value.isdigit():
        return next((code for code, (n, _) in CATEGORIES.items() if n == int(value)), None)
    return None


def category_label(code: str) -> str:
    number, label = CATEGORIES[code]
    return f"{number}. {label}"


__all__ = ["ABUSE_OR_NEGLECT", "AGE_BANDS", "CATEGORIES", "DOMAINS", "JAR_REASONS", "SEX",
           "SEXES", "category_code", "category_label"]
