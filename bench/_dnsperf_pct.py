"""Latency percentiles from `dnsperf -v` output (its per-query "> " lines), one JSON line.

usage: _dnsperf_pct.py RAW_FILE KEY=VALUE...   (the pairs are copied into the JSON; numbers stay numbers)
Used by bench/run_dns_bench.sh and bench/run_dns_p99.sh: dnsperf 2.10 prints no percentiles.
"""
import json, re, sys

lat = []
for line in open(sys.argv[1]):
    if line.startswith("> "):
        m = re.findall(r"(\d+\.\d+)\s*$", line)
        if m:
            lat.append(float(m[0]) * 1000)
lat.sort()
pct = lambda p: round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 3) if lat else None
out = {}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    out[k] = int(v) if v.isdigit() else v
summary = [l.strip() for l in open(sys.argv[1]) if "Queries lost" in l or "Queries per second" in l]
out.update({"responses": len(lat), "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
            "p999_ms": pct(99.9), "max_ms": round(lat[-1], 3) if lat else None, "dnsperf": summary})
print(json.dumps(out))
