#!/usr/bin/env bash
# The native `kubestead` beside kubectl's comparable commands, on a real kube-apiserver from ../shared (issue #33):
#   kubestead status -n NS           vs  kubectl get configmap -n NS
#   kubestead validate -f spec.yaml  vs  kubectl apply --dry-run=client -f deployment.yaml
#   kubestead plan ...               vs  kubectl apply --dry-run=client -f deployment.yaml (kubectl has no offline planner)
# Alternating: every round runs each command once, so a load change on the shared machine hits all of them alike.
# Per command: median wall ms, median CPU ms (user+sys) and median peak RSS (KiB), from /usr/bin/time; then the
# median per-round ratio kubestead/kubectl of each. Usage: bench/native-speed/run.sh [BINARY] [ROUNDS]
# (BINARY defaults to out/native/publish/kubestead; build it with build/native-publish.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/out/native/publish/kubestead}"
rounds="${2:-15}"
kit="$root/../shared/kube-apiserver"
[ -x "$bin" ] || { echo "no native binary at $bin: run build/native-publish.sh" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "kubectl is not installed" >&2; exit 1; }
started=""
if [[ -z "${KUBESTEAD_TEST_KUBECONFIG:-}" ]]; then
  eval "$("$kit/start")"
  started="$KUBE_APISERVER_WORKDIR"
  export KUBESTEAD_TEST_KUBECONFIG="$KUBECONFIG_TEST"
fi
work="$(mktemp -d)"
cleanup() { rm -rf "$work"; [[ -n "$started" ]] && "$kit/stop" "$started" >/dev/null 2>&1 || true; }
trap cleanup EXIT
kc="$KUBESTEAD_TEST_KUBECONFIG"
cat >"$work/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec: {containers: [{name: app, image: registry.example.com/shop:1.0.0}]}
YAML
spec="$root/examples/sandbox/istio.yaml"
declare -A cmd=(
  [kubectl_get]="kubectl --kubeconfig $kc get configmap -n default"
  [status]="$bin --kubeconfig $kc status -n default"
  [kubectl_dry]="kubectl --kubeconfig $kc apply --dry-run=client -f $work/deployment.yaml"
  [validate]="$bin validate -f $spec"
  [plan]="$bin plan --weight 10 --window 1m --rps 50"
)
names=(kubectl_get status kubectl_dry validate plan)
for n in "${names[@]}"; do ${cmd[$n]} >/dev/null 2>&1 || { echo "$n failed: ${cmd[$n]}" >&2; exit 1; }; done # warm the page cache
declare -A wall cpu rss
for _ in $(seq "$rounds"); do
  for n in "${names[@]}"; do
    read -r e u s m < <(/usr/bin/time -f '%e %U %S %M' ${cmd[$n]} 2>&1 >/dev/null | tail -n 1)
    wall[$n]+="$(awk -v e="$e" 'BEGIN { printf "%d", e * 1000 }') "
    cpu[$n]+="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1000 }') "
    rss[$n]+="$m "
  done
done
median() { tr ' ' '\n' | awk 'NF' | sort -n | awk '{ a[++n] = $1 } END { printf "%s", (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }'; }
ratio() { # per-round ratio A/B of one series, median
  paste <(tr ' ' '\n' <<<"$1" | awk 'NF') <(tr ' ' '\n' <<<"$2" | awk 'NF') | awk '{ printf "%.2f\n", ($2 > 0 ? $1 / $2 : 0) }' | median
}
echo "rounds: $rounds; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; binary $(du -h "$bin" | cut -f1);" \
  "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown); $(kubectl version --client 2>/dev/null | head -n 1)"
echo
echo "| command | median wall ms | median CPU ms | median peak RSS KiB |"
echo "|---|---|---|---|"
for n in "${names[@]}"; do
  printf '| `%s` | %s | %s | %s |\n' "${cmd[$n]//$root\//}" "$(median <<<"${wall[$n]}")" "$(median <<<"${cpu[$n]}")" "$(median <<<"${rss[$n]}")"
done
echo
echo "| pair | wall ratio | CPU ratio | RSS ratio |"
echo "|---|---|---|---|"
for pair in "status kubectl_get" "validate kubectl_dry" "plan kubectl_dry"; do
  set -- $pair
  printf '| %s / %s | %s | %s | %s |\n' "$1" "$2" "$(ratio "${wall[$1]}" "${wall[$2]}")" "$(ratio "${cpu[$1]}" "${cpu[$2]}")" "$(ratio "${rss[$1]}" "${rss[$2]}")"
done
