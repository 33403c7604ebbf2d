#!/usr/bin/env bash
# Wall time of `kubestead status` (list rollouts in a namespace: one GET of ConfigMaps by label) beside
# `kubectl get configmap` and a bare curl of the same GET, against a real kube-apiserver from ../shared.
# Usage: bench/status-speed/run.sh [label] [runs]   (label names the results row, e.g. before/after)
# Runs the commands interleaved (one of each per round) and prints, per command, the median/min/max wall milliseconds
# and the per-round ratio of kubestead to kubectl (robust to load changes on a shared machine).
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

time_it() { # prints wall milliseconds of one run of "$@"
  local s e
  s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
  echo $(( (e - s) / 1000000 ))
}
curl_get() { curl -sf --cacert "$dir/pki/ca.crt" -H @<(printf 'Authorization: Bearer %s' "$(cat "$dir/admin.token")") "$url"; }
status_text() { "$out/kubestead" status -n default --kubeconfig "$kc"; }
status_json() { "$out/kubestead" status -n default --kubeconfig "$kc" -o json; }
kubectl_get() { kubectl --kubeconfig "$kc" get configmap -n default; }

# Interleaved: every round runs each command once, so a load change on this shared machine hits all of them alike and
# the per-round ratio to kubectl stays meaningful even when absolute times do not.
names=(curl_get kubectl_get status_text status_json)
for n in "${names[@]}"; do "$n" >/dev/null 2>&1 || true; done  # warm the page cache once
declare -A samples
ratios_text="" ratios_json=""
for _ in $(seq "$runs"); do
  declare -A t=()
  for n in "${names[@]}"; do t[$n]=$(time_it "$n"); samples[$n]+="${t[$n]}"$'\n'; done
  ratios_text+="$(awk -v a="${t[status_text]}" -v b="${t[kubectl_get]}" 'BEGIN { printf "%.2f", a / b }')"$'\n'
  ratios_json+="$(awk -v a="${t[status_json]}" -v b="${t[kubectl_get]}" 'BEGIN { printf "%.2f", a / b }')"$'\n'
done
stats() { sort -n | awk 'NF { a[++n] = $1 } END { m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2; printf "%s | %s | %s", m, a[1], a[n] }'; }
declare -A label_of=([curl_get]="curl (same GET)" [kubectl_get]="kubectl get configmap" [status_text]="kubestead status" [status_json]="kubestead status -o json")
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| build | command | rounds | median ms | min ms | max ms |"
echo "|---|---|---|---|---|---|"
for n in "${names[@]}"; do printf '| %s | %s | %s | %s |\n' "$label" "${label_of[$n]}" "$runs" "$(printf '%s' "${samples[$n]}" | stats)"; done
echo
echo "| build | ratio per round | median | min | max |"
echo "|---|---|---|---|---|"
printf '| %s | kubestead status / kubectl | %s |\n' "$label" "$(printf '%s' "$ratios_text" | stats)"
printf '| %s | kubestead status -o json / kubectl | %s |\n' "$label" "$(printf '%s' "$ratios_json" | stats)"
