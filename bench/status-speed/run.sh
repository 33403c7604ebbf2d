#!/usr/bin/env bash
# Wall time of `kubestead status` (list rollouts in a namespace: one GET of ConfigMaps by label) beside
# `kubectl get configmap` and a bare curl of the same GET, against a real kube-apiserver from ../shared.
# Usage: bench/status-speed/run.sh [label] [runs]   (label names the results row, e.g. before/after)
# Prints a markdown table row per command: median and min/max of wall seconds over the runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
label="${1:-current}"
runs="${2:-15}"
kit="$root/../shared/kube-apiserver"
out="$root/bench/out/status-speed-$label"

# The CLI as a user runs it: a Release build, started through its apphost.
dotnet build "$root/src/Kubestead.Cli" -c Release -o "$out" -v q -nologo >/dev/null

started=""
if [[ -z "${KUBESTEAD_TEST_KUBECONFIG:-}" ]]; then
  eval "$("$kit/start")"
  started="$KUBE_APISERVER_WORKDIR"
  export KUBESTEAD_TEST_KUBECONFIG="$KUBECONFIG_TEST"
fi
cleanup() { [[ -n "$started" ]] && "$kit/stop" "$started" >/dev/null 2>&1 || true; }
trap cleanup EXIT

kc="$KUBESTEAD_TEST_KUBECONFIG"
dir="$(dirname "$kc")"
# The reference GET, as curl sends it (token and CA from the kit's work dir; the token is read by curl, never printed).
server="$(grep -m1 'server:' "$kc" | awk '{print $2}')"
url="$server/api/v1/namespaces/default/configmaps?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dkubestead"

time_it() { # prints wall seconds of one run of "$@"
  local s e
  s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
  awk -v d=$((e - s)) 'BEGIN { printf "%.3f\n", d / 1e9 }'
}
stats() { sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f | %.3f | %.3f", m, a[1], a[NR] }'; }
bench() { # name, command...
  local name="$1"; shift
  "$@" >/dev/null 2>&1 || true  # warm the page cache once
  local samples=""
  for _ in $(seq "$runs"); do samples+="$(time_it "$@")"$'\n'; done
  printf '| %s | %s | %s | %s |\n' "$label" "$name" "$runs" "$(printf '%s' "$samples" | stats)"
}

curl_get() { curl -sf --cacert "$dir/pki/ca.crt" -H @<(printf 'Authorization: Bearer %s' "$(cat "$dir/admin.token")") "$url"; }

echo "| build | command | runs | median s | min s | max s |"
echo "|---|---|---|---|---|---|"
bench "curl (same GET)" curl_get
if command -v kubectl >/dev/null; then bench "kubectl get configmap" kubectl --kubeconfig "$kc" get configmap -n default; fi
bench "kubestead status" "$out/kubestead" status -n default --kubeconfig "$kc"
bench "kubestead status -o json" "$out/kubestead" status -n default --kubeconfig "$kc" -o json
