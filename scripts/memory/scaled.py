#!/usr/bin/env python3
"""Writes scenarios/embassy.toml scaled k times (arrivals, burst extra, band slots, launch
backlog, legacy requests and quota, old-portal bookings) for one and five years:
OUT/x{1,4,16}-{365,1825}.toml. Used for the memory figures in BENCHMARKS.md.

    python3 scripts/memory/scaled.py OUT
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[2]
out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/memory")
out.mkdir(parents=True, exist_ok=True)
src = (root / "scenarios/embassy.toml").read_text()


def scale(k, days):
    s = re.sub(r"slots = (\d+)", lambda m: f"slots = {int(m.group(1)) * k}", src)
    for key in ["arrivals_per_day", "initial_backlog", "extra", "requests", "quota_per_day", "bookings"]:
        s = re.sub(
            rf"^({key}\s*=\s*)([\d.]+)",
            lambda m: m.group(1) + (str(float(m.group(2)) * k) if "." in m.group(2) else str(int(m.group(2)) * k)),
            s,
            flags=re.M,
        )
    s = re.sub(r"^days = 365", f"days = {days}", s, flags=re.M)
    return s.replace('name = "embassy"', f'name = "embassy-x{k}-{days}d"')


for k in [1, 4, 16]:
    for days in [365, 1825]:
        (out / f"x{k}-{days}.toml").write_text(scale(k, days))
print(f"wrote {out}/x{{1,4,16}}-{{365,1825}}.toml")
