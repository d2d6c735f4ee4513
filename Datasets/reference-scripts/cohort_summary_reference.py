#!/usr/bin/env python3
"""Reference values for MedGridCohort's cohort.summary, computed independently with pandas.

Writes Tests/MedGridKernelTests/Reference/cohort/small_adtte.csv (a hand-crafted ADTTE-like table) and
expected_summary.json next to it. Run from the repository root:

    python3 Datasets/reference-scripts/cohort_summary_reference.py

Conventions mirrored from MedGridCohort (CohortSummaryPartial / CohortSummary doc comments):
- missing cells are exactly "", "NA" and "." (no trimming);
- rows are excluded, under the first reason that applies, for missing TRT01P, SITEID, USUBJID or CNSR,
  then "CNSR not an integer", then "CNSR negative";
- events are rows with CNSR == 0, censored rows with CNSR > 0; subjects are distinct USUBJID;
- numeric columns are the non-key columns whose non-missing cells are all numbers (here AGE, AVAL, ECOG);
- median is the middle value or the mean of the two middle values.
"""
import json
import pathlib

import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "MedGridKernelTests" / "Reference" / "cohort"
MISSING = ["", "NA", "."]
KEY_COLUMNS = {"USUBJID", "SUBJID", "STUDYID", "SITEID", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN",
               "CNSR", "PARAMCD", "PARAM"}

# Hand-crafted: 2 arms x 3 sites, PFS rows for a few subjects (so rows > subjects), CNSR 0/1/2, missing
# values written as "", "NA" and ".", quoted fields with a comma and with an escaped quote, one row with a
# missing SITEID and one with a non-integer CNSR (both excluded).
CSV_TEXT = """STUDYID,USUBJID,SITEID,TRT01P,TRT01PN,AGE,SEX,ECOG,PARAMCD,AVAL,CNSR,COMMENT
MG01,MG01-S01-0001,S01,Placebo,0,64,F,1,OS,412.5,0,
MG01,MG01-S01-0002,S01,Drug A,1,58,M,0,OS,1095.0,1,
MG01,MG01-S01-0003,S01,Placebo,0,71,M,2,OS,133.2,0,"Dose reduced, cycle 3"
MG01,MG01-S01-0004,S01,Drug A,1,,F,1,OS,702.9,0,
MG01,MG01-S01-0005,S01,Placebo,0,49,F,0,OS,845.0,2,moved abroad
MG01,MG01-S01-0006,S01,Drug A,1,66,M,1,OS,1095.0,1,
MG01,MG01-S01-0007,S01,Placebo,0,55,M,1,OS,298.4,0,
MG01,MG01-S01-0008,S01,Drug A,1,NA,F,0,OS,955.1,0,
MG01,MG01-S02-0001,S02,Placebo,0,60,F,1,OS,510.0,0,
MG01,MG01-S02-0002,S02,Drug A,1,73,M,2,OS,221.7,0,"said ""no more visits"", withdrew"
MG01,MG01-S02-0003,S02,Placebo,0,68,M,1,OS,1095.0,1,
MG01,MG01-S02-0004,S02,Drug A,1,52,F,0,OS,388.8,2,
MG01,MG01-S02-0005,S02,Placebo,0,.,F,1,OS,176.3,0,
MG01,MG01-S02-0006,S02,Drug A,1,61,M,1,OS,1095.0,1,
MG01,MG01-S02-0007,S02,Placebo,0,77,M,2,OS,64.0,0,
MG01,MG01-S02-0008,S02,Drug A,1,59,F,0,OS,NA,2,date unknown
MG01,MG01-S03-0001,S03,Placebo,0,62,M,0,OS,730.5,0,
MG01,MG01-S03-0002,S03,Drug A,1,57,F,1,OS,1095.0,1,
MG01,MG01-S03-0003,S03,Placebo,0,70,F,1,OS,455.0,2,
MG01,MG01-S03-0004,S03,Drug A,1,45,M,0,OS,1012.6,0,
MG01,MG01-S03-0005,S03,Placebo,0,66,M,2,OS,91.9,0,
MG01,MG01-S03-0006,S03,Drug A,1,69,F,1,OS,640.2,0,
MG01,MG01-S03-0007,S03,Placebo,0,54,F,0,OS,1095.0,1,
MG01,MG01-S03-0008,S03,Drug A,1,63,M,1,OS,877.7,2,
MG01,MG01-S03-0009,S03,Drug A,1,80,M,2,OS,302.0,0,
MG01,MG01-S01-0009,S01,Placebo,0,47,M,0,OS,1095.0,1,
MG01,MG01-S02-0009,S02,Drug A,1,58,F,1,OS,612.4,0,
MG01,MG01-S01-0010,,Drug A,1,60,M,1,OS,500.0,0,site not recorded
MG01,MG01-S02-0010,S02,Placebo,0,65,M,1,OS,410.0,X,bad censor code
MG01,MG01-S01-0001,S01,Placebo,0,64,F,1,PFS,201.0,0,
MG01,MG01-S01-0002,S01,Drug A,1,58,M,0,PFS,640.5,0,
MG01,MG01-S01-0003,S01,Placebo,0,71,M,2,PFS,98.0,0,"Dose reduced, cycle 3"
MG01,MG01-S02-0001,S02,Placebo,0,60,F,1,PFS,330.3,0,
MG01,MG01-S02-0004,S02,Drug A,1,52,F,0,PFS,388.8,2,
MG01,MG01-S03-0002,S03,Drug A,1,57,F,1,PFS,712.0,0,
MG01,MG01-S03-0004,S03,Drug A,1,45,M,0,PFS,1012.6,1,
MG01,MG01-S03-0005,S03,Placebo,0,66,M,2,PFS,60.1,0,
MG01,MG01-S03-0009,S03,Drug A,1,80,M,2,PFS,150.0,0,
MG01,MG01-S01-0007,S01,Placebo,0,55,M,1,PFS,145.6,0,
MG01,MG01-S02-0007,S02,Placebo,0,77,M,2,PFS,40.0,0,
"""


def none_if_nan(x):
    return None if pd.isna(x) else float(x)


def column_stats(frame, column):
    cells = frame[column]
    missing = cells.isin(MISSING)
    values = pd.to_numeric(cells[~missing], errors="raise")  # all non-missing cells are numeric here
    return {
        "n": int(values.count()),
        "missing": int(missing.sum()),
        "mean": none_if_nan(values.mean()),
        "median": none_if_nan(values.median()),
        "min": none_if_nan(values.min()),
        "max": none_if_nan(values.max()),
    }


def numeric_columns(frame):
    out = []
    for column in frame.columns:
        if column in KEY_COLUMNS:
            continue
        cells = frame[column][~frame[column].isin(MISSING)]
        if pd.to_numeric(cells, errors="coerce").notna().all():
            out.append(column)
    return sorted(out)


def stratum(frame, arm, site, columns):
    cnsr = frame["CNSR"].astype(int)
    return {
        "arm": arm,
        "site": site,
        "subjects": int(frame["USUBJID"].nunique()),
        "rows": int(len(frame)),
        "events": int((cnsr == 0).sum()),
        "censored": int((cnsr > 0).sum()),
        "columns": {c: column_stats(frame, c) for c in columns},
    }


def summarise(raw, paramcd=None):
    frame = raw if paramcd is None else raw[raw["PARAMCD"] == paramcd]
    rows_other = len(raw) - len(frame)
    excluded = {}
    keep = pd.Series(True, index=frame.index)
    for column in ["TRT01P", "SITEID", "USUBJID", "CNSR"]:
        bad = keep & frame[column].isin(MISSING)
        if bad.any():
            excluded[f"missing {column}"] = int(bad.sum())
        keep &= ~bad
    not_int = keep & ~frame["CNSR"].str.fullmatch(r"[+-]?[0-9]+")
    if not_int.any():
        excluded["CNSR not an integer"] = int(not_int.sum())
    keep &= ~not_int
    negative = keep & (pd.to_numeric(frame["CNSR"].where(keep, "0")) < 0)
    if negative.any():
        excluded["CNSR negative"] = int(negative.sum())
    kept = frame[keep & ~negative]

    columns = numeric_columns(kept)
    groups = [stratum(g, arm, site, columns)
              for (arm, site), g in sorted(kept.groupby(["TRT01P", "SITEID"]), key=lambda kv: kv[0])]
    arms = [stratum(g, arm, None, columns)
            for arm, g in sorted(kept.groupby("TRT01P"), key=lambda kv: kv[0])]
    return {
        "paramcd": paramcd,
        "rows_read": int(len(raw)),
        "rows_other_paramcd": int(rows_other),
        "numeric_columns": columns,
        "excluded": excluded,
        "groups": groups,
        "arm_totals": arms,
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / "small_adtte.csv"
    csv_path.write_bytes(CSV_TEXT.encode("utf-8"))
    raw = pd.read_csv(csv_path, dtype=str, keep_default_na=False, na_values=[])
    expected = {
        "generator": "Datasets/reference-scripts/cohort_summary_reference.py",
        "pandas_version": pd.__version__,
        "missing_tokens": MISSING,
        "all": summarise(raw),
        "paramcd_OS": summarise(raw, "OS"),
    }
    (OUT / "expected_summary.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
