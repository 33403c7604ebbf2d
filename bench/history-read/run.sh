#!/usr/bin/env bash
# How long a real Prometheus takes to answer the control-history read (PrometheusMetricSource.ControlHistoryAsync:
# two query_range requests, start = end - look-back, step = 15 s) over backfilled Istio counters.
#
# Usage: bash bench/history-read/run.sh [pods:series-per-pod:noise-series:hours:look-back-hours[,look-back-hours...] ...]
# Without arguments it runs the configurations below. Markdown table rows go to stdout, progress and raw timings to
# stderr. Everything generated lives in a temporary directory under /tmp (TMPDIR), removed on exit.
# Needs prometheus, promtool, curl, python3. Heavy steps run under `nice -n 10`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPS="${REPS:-5}"                 # timed repetitions per query (after one warm-up)
MAX_FILE_MB="${MAX_FILE_MB:-600}" # skip a configuration whose OpenMetrics file (per 2 h block) would be larger
SCRAPE=15

CONFIGS=("$@")
if [ ${#CONFIGS[@]} -eq 0 ]; then
  CONFIGS=("200:2:0:6:6" "200:2:2000:6:6" "200:8:2000:6:6" "50:8:0:6:1,6" "500:2:2000:6:6")
fi

for tool in prometheus promtool curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is not on PATH (apt-get install -y prometheus curl python3)" >&2; exit 1; }
done

# The product's queries (PrometheusMetricSource.Queries("shop") for the istio builtin in namespace "web", through Aggregated).
Q_REQUESTS='sum by (pod, instance) (istio_requests_total{reporter="destination",destination_workload_namespace="web",destination_workload="shop"})'
Q_FAILURES='sum by (pod, instance) (istio_requests_total{reporter="destination",destination_workload_namespace="web",destination_workload="shop",response_code=~"5.."})'

WORK="$(mktemp -d "${TMPDIR:-/tmp}/history-read.XXXXXX")"
PROM_PID=""
cleanup() {
  if [ -n "$PROM_PID" ]; then kill "$PROM_PID" 2>/dev/null || true; wait "$PROM_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

printf 'global:\n  scrape_interval: 1h\nscrape_configs: []\n' > "$WORK/prometheus.yml"

# One query_range: "http_code time_total size_download".
query() { # port query start end [output]
  curl -s -o "${5:-/dev/null}" -w '%{http_code} %{time_total} %{size_download}\n' --get "http://127.0.0.1:$1/api/v1/query_range" \
    --data-urlencode "query=$2" --data-urlencode "start=$3" --data-urlencode "end=$4" --data-urlencode "step=$SCRAPE"
}

# "series points" of a query_range answer.
count_points() {
  python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success", d
r = d["data"]["result"]
print(len(r), sum(len(s["values"]) for s in r))'
}

# Median and max of the time_total column: "median max".
stats() { python3 -c '
import statistics, sys
t = [float(l.split()[1]) for l in sys.stdin if l.strip()]
print(f"{statistics.median(t):.3f} {max(t):.3f}")'; }

echo "| pods | series per pod | noise series | look-back | samples stored | OpenMetrics text (MB) | points per answer (series x steps) | requests answer (bytes) | failures answer (bytes) | requests time, median / max (s) | failures time, median / max (s) | backfill (s) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"

END="$(( $(date +%s) / SCRAPE * SCRAPE ))"
for config in "${CONFIGS[@]}"; do
  IFS=: read -r PODS S NOISE HOURS LOOKBACKS <<< "$config"
  series=$(( PODS * S + NOISE ))
  # ~235 bytes a line; one file per 2 h block.
  est_mb=$(( series * (7200 / SCRAPE) * 235 / 1000000 ))
  if [ "$est_mb" -gt "$MAX_FILE_MB" ]; then
    echo "skipped $config: about $est_mb MB of OpenMetrics text per 2 h block (limit $MAX_FILE_MB)" >&2
    continue
  fi
  echo "== $config: generating" >&2
  rm -rf "$WORK/om" "$WORK/data"; mkdir -p "$WORK/om" "$WORK/data"
  nice -n 10 python3 "$HERE/gen.py" --pods "$PODS" --series-per-pod "$S" --noise-series "$NOISE" --hours "$HOURS" \
    --scrape "$SCRAPE" --end "$END" --out "$WORK/om/input.om" > "$WORK/gen.json"
  om_mb=$(python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["bytes"] / 1e6))' "$WORK/gen.json")
  generated=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["samples"])' "$WORK/gen.json")

  echo "== $config: backfilling $om_mb MB, $generated samples" >&2
  t0=$(now)
  for f in "$WORK"/om/input.om.*; do
    nice -n 10 promtool tsdb create-blocks-from openmetrics "$f" "$WORK/data" >> "$WORK/backfill.log"
    rm -f "$f"
  done
  backfill=$(elapsed "$t0" "$(now)")
  stored=$(awk 'length($1) == 26 && $1 ~ /^01[0-9A-Z]+$/ { s += $5 } END { print s + 0 }' "$WORK/backfill.log"); rm -f "$WORK/backfill.log"
  [ "$stored" = "$generated" ] || echo "warning: $generated samples generated, $stored stored" >&2
  if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 480 else 1)' "$backfill"; then
    echo "note: backfilling $config took $backfill s (over 8 minutes)" >&2
  fi

  PORT=$(free_port)
  # min = max block duration 2h: no compaction runs while the queries are timed (the blocks are 2 h, as backfilled).
  nice -n 10 prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
    --storage.tsdb.retention.time=3650d --storage.tsdb.min-block-duration=2h --storage.tsdb.max-block-duration=2h \
    --web.listen-address="127.0.0.1:$PORT" > "$WORK/prometheus.log" 2>&1 &
  PROM_PID=$!
  ready=""
  for _ in $(seq 1 240); do
    if curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$PROM_PID" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$ready" ]; then echo "prometheus did not become ready:" >&2; tail -20 "$WORK/prometheus.log" >&2; exit 1; fi

  IFS=, read -ra LBS <<< "$LOOKBACKS"
  for lb in "${LBS[@]}"; do
    start=$(( END - lb * 3600 ))
    row_times=()
    sizes=()
    for q in "$Q_REQUESTS" "$Q_FAILURES"; do
      query "$PORT" "$q" "$start" "$END" > /dev/null   # warm-up
      : > "$WORK/times"
      for _ in $(seq 1 "$REPS"); do query "$PORT" "$q" "$start" "$END" >> "$WORK/times"; done
      echo "   $config look-back ${lb}h: $(tr '\n' ';' < "$WORK/times")" >&2
      if grep -qv '^200 ' "$WORK/times"; then echo "a query failed: $(cat "$WORK/times")" >&2; exit 1; fi
      row_times+=("$(stats < "$WORK/times" | sed 's| | / |')")
      sizes+=("$(awk 'NR == 1 { print $3 }' "$WORK/times")")
      query "$PORT" "$q" "$start" "$END" "$WORK/answer.json" > /dev/null
      points=$(count_points < "$WORK/answer.json")
      echo "   points (series, values): $points" >&2
      [ "$q" = "$Q_REQUESTS" ] && req_points="$points"
      rm -f "$WORK/answer.json"
    done
    read -r n_series n_values <<< "$req_points"
    echo "| $PODS | $S | $NOISE | ${lb} h | $stored | $om_mb | $n_values ($n_series x $(( n_values / (n_series > 0 ? n_series : 1) ))) | ${sizes[0]} | ${sizes[1]} | ${row_times[0]} | ${row_times[1]} | $backfill |"
  done

  kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true; PROM_PID=""
  rm -rf "$WORK/data" "$WORK/om"
done
