#!/usr/bin/env python3
"""Extracts the demo's slice of reference data (Greater Manchester) from ../shared/data/geo
into demo/geo/, so `serve --demo` shows eligibility by GP practice on any machine.

Run from the project root: python3 scripts/demo-geo-slice.py [SOURCE_DIR]
Kept: GP practices of NHS Greater Manchester ICB (QOP) from the current epraccur export,
their PCN links, the ten boroughs' postcode district centroids, the ONSPD rows for
Greater Manchester postcodes that the source holds, and the sub-ICB code list.
"""
import csv
import os
import shutil
import sys

SOURCE = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/geo"
OUT = "demo/geo"
BOROUGHS = {"Bolton", "Bury", "Manchester", "Oldham", "Rochdale", "Salford",
            "Stockport", "Tameside", "Trafford", "Wigan"}
GM_LADS = {f"E080000{n:02d}" for n in range(1, 11)}


def rows(name, header=True):
    with open(os.path.join(SOURCE, name), newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        head = next(r) if header else None
        return head, list(r)


def write(name, head, body, quote_all=False):
    with open(os.path.join(OUT, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\n")
        if head:
            w.writerow(head)
        w.writerows(body)
    print(f"{name}: {len(body)} rows")


os.makedirs(OUT, exist_ok=True)
_, practices = rows("epraccur_dse_2026-02.csv", header=False)
gm = [p for p in practices if p[3] == "QOP"]
codes = {p[0] for p in gm}
write("epraccur_dse_2026-02.csv", None, gm, quote_all=True)

head, links = rows("ePCN_2019-12_core_partner_details.csv")
write("ePCN_2019-12_core_partner_details.csv", head, [l for l in links if l[0] in codes])

head, districts = rows("derived_outcode_centroids_active.csv")
write("derived_outcode_centroids_active.csv", head, [d for d in districts if d[5] in BOROUGHS])

head, postcodes = rows("postcodesio_seed_onspd_postcode.csv")
lad = head.index("oslaua")
write("postcodesio_seed_onspd_postcode.csv", head, [p for p in postcodes if p[lad] in GM_LADS])

shutil.copy(os.path.join(SOURCE, "postcodesio_sub_icb_locations_ccgs.json"), OUT)
print("postcodesio_sub_icb_locations_ccgs.json: copied")
