#!/usr/bin/env bash
# The controller bench (issue #30): one `kubestead controller` replica carrying N judged rollouts (CPU, RSS, API requests
# per rollout-minute), its drain, then two replicas sharing them and one killed -9 (the survivor's takeover time).
# Needs ../shared/kube-apiserver beside the repository (it starts a private cluster and stops it again).
# Usage: bench/controller/run.sh [--rollouts 100] [--lease-seconds 15] [--steady-seconds 60]
# Writes bench/results/controller.md (the command, the machine and its load, then the measures).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kit="$root/../shared/kube-apiserver"
out="$root/bench/results/controller.md"
dotnet build -c Release "$here/Kubestead.Bench.Controller.csproj" -v q -nologo >&2
eval "$("$kit/start")"
trap '"$kit/stop" "$KUBE_APISERVER_WORKDIR"' EXIT
: "${KUBECONFIG_TEST:?kube-apiserver did not start}"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
status=0
body=$(dotnet "$here/bin/Release/$(ls "$here/bin/Release")/Kubestead.Bench.Controller.dll" --kubeconfig "$KUBECONFIG_TEST" "$@") || status=$?
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# Controller bench (issue #30)"
  echo
  echo "Command: \`bench/controller/run.sh $*\` at $started on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))."
  echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after. The machine was shared with other builds and tests,"
  echo "so CPU and times are upper bounds for an idle machine."
  echo
  echo "$body"
  [ "$status" = 0 ] || echo "(the bench program exited $status before the end; see its stderr)"
} > "$out"
cat "$out"
exit "$status"
