#!/usr/bin/env python3
"""Writes Istio request counters as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.

The control workload is namespace "web", workload "shop": --pods pods, each with --series-per-pod series (response
codes 200 and 503 times S/2 source workloads), scraped every --scrape seconds at a random per-pod offset, for --hours
hours plus 10 minutes ending at --end (each series' last sample within the scrape before it). --noise-series more series of the same metric belong to other workloads in other
namespaces, so the query's selectors have to pick the control's series out of the index.

Samples are grouped per series and in time order (promtool drops, silently, a sample older than its series' last one).
With --block-hours B > 0 (default 2, promtool's block length) the output is split into files PATH.0, PATH.1, ... each
covering one B-hour-aligned range: promtool cuts blocks at those boundaries anyway, so backfilling the files one by one
into the same directory gives the blocks one file would, with each file a fraction of the size. --block-hours 0 writes
one file, PATH.

Prints a JSON summary (series, samples, files, bytes, start, end) on stdout. Python 3 standard library only.
"""
import argparse
import json
import math
import os
import random
import sys
import time

POD_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes draws pod-name suffixes from


def poisson(rng, lam):
    """A Poisson draw: Knuth's product method for small means, a rounded normal for large ones."""
    if lam <= 0:
        return 0
    if lam < 15:
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))


def suffix(rng, used):
    while True:
        s = "".join(rng.choice(POD_CHARS) for _ in range(5))
        if s not in used:
            used.add(s)
            return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, required=True)
    ap.add_argument("--series-per-pod", type=int, default=2, help="even: codes 200 and 503 times S/2 source workloads")
    ap.add_argument("--hours", type=float, default=6.0, help="history length (10 minutes more are written)")
    ap.add_argument("--scrape", type=int, default=15, help="seconds between a series' samples")
    ap.add_argument("--noise-series", type=int, default=0, help="series of other workloads in other namespaces")
    ap.add_argument("--end", type=int, default=None, help="unix seconds of the last scrape slot (default: now, floored to the scrape)")
    ap.add_argument("--ok-rate", type=float, default=30.0, help="mean 200-code increase per series and scrape")
    ap.add_argument("--error-rate", type=float, default=0.3, help="mean 503-code increase per series and scrape")
    ap.add_argument("--block-hours", type=float, default=2.0, help="split the output at these aligned boundaries (0: one file)")
    ap.add_argument("--seed", type=int, default=29)
    ap.add_argument("--out", required=True, help="output path (with --block-hours > 0, PATH.0, PATH.1, ...)")
    a = ap.parse_args()
    if a.series_per_pod < 2 or a.series_per_pod % 2:
        sys.exit("--series-per-pod must be even and at least 2")

    rng = random.Random(a.seed)
    scrape_ms = a.scrape * 1000
    end_ms = (a.end if a.end is not None else int(time.time()) // a.scrape * a.scrape) * 1000
    start_ms = end_ms - int((a.hours * 3600 + 600) * 1000)

    # Series: (label text, first sample's offset in ms within the scrape, starting value, mean increase per scrape).
    series = []
    used = set()
    sources = a.series_per_pod // 2
    for p in range(a.pods):
        pod = f"shop-7d9f8c6b5-{suffix(rng, used)}"
        instance = f"10.0.{p // 250}.{p % 250 + 1}:15020"
        offset = rng.randrange(scrape_ms)
        speed = rng.uniform(0.8, 1.2)  # pods differ a little in load
        for s in range(sources):
            for code, lam in (("200", a.ok_rate), ("503", a.error_rate)):
                labels = (f'reporter="destination",destination_workload_namespace="web",destination_workload="shop",'
                          f'pod="{pod}",instance="{instance}",response_code="{code}",source_workload="client-{s}"')
                series.append((labels, offset, rng.randrange(100_000) if code == "200" else rng.randrange(1_000), lam * speed))
    # Noise: pods of 40 workloads across 25 namespaces, 4 series a pod (200 and 503 from two sources).
    for i in range(a.noise_series):
        pod_index, k = divmod(i, 4)
        ns, workload = f"team-{pod_index % 25}", f"app-{pod_index % 40}"
        if k == 0:
            pod = f"{workload}-6c9d8b7f4-{suffix(rng, used)}"
            instance = f"10.1.{pod_index // 250}.{pod_index % 250 + 1}:15020"
            offset = rng.randrange(scrape_ms)
        code = "200" if k % 2 == 0 else "503"
        labels = (f'reporter="destination",destination_workload_namespace="{ns}",destination_workload="{workload}",'
                  f'pod="{pod}",instance="{instance}",response_code="{code}",source_workload="client-{k // 2}"')
        series.append((labels, offset, rng.randrange(100_000) if code == "200" else rng.randrange(1_000),
                       a.ok_rate if code == "200" else a.error_rate))

    # File ranges: [lo, hi) in ms, aligned to --block-hours.
    if a.block_hours > 0:
        block_ms = int(a.block_hours * 3600 * 1000)
        edges = list(range(start_ms // block_ms * block_ms, end_ms + block_ms, block_ms))
        ranges = [(max(lo, start_ms), min(hi, end_ms + 1)) for lo, hi in zip(edges, edges[1:]) if lo <= end_ms and hi > start_ms]
        paths = [f"{a.out}.{i}" for i in range(len(ranges))]
    else:
        ranges, paths = [(start_ms, end_ms + 1)], [a.out]

    # Per series: the next sample's time and value, carried from one file to the next.
    next_t = [start_ms + off for (_, off, _, _) in series]
    value = [v for (_, _, v, _) in series]
    samples = 0
    written = 0
    for (lo, hi), path in zip(ranges, paths):
        with open(path, "w", buffering=1 << 22) as f:
            f.write("# TYPE istio_requests counter\n")
            for i, (labels, _, _, lam) in enumerate(series):
                prefix = "istio_requests_total{" + labels + "} "
                t, v = next_t[i], value[i]
                lines = []
                while t < hi:
                    if t >= lo:
                        lines.append(f"{prefix}{v} {t // 1000}.{t % 1000:03d}\n")
                        v += poisson(rng, lam)
                    t += scrape_ms
                next_t[i], value[i] = t, v
                samples += len(lines)
                f.write("".join(lines))
            f.write("# EOF\n")
        written += os.path.getsize(path)

    json.dump({"series": len(series), "control_series": a.pods * a.series_per_pod, "samples": samples,
               "files": paths, "bytes": written, "start": start_ms / 1000, "end": end_ms / 1000}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
