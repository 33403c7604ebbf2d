#!/usr/bin/env bash
# The test command: installs what integration tests need (Prometheus), runs every xUnit project of the solution,
# then the Pester suite in pwsh 7.6.9 (tests/run-pester.sh), and ends with one line "N passed, N failed, N skipped"
# totalled over all of them. Works the same on GitHub-hosted runners (the .NET SDK is there; pwsh and Pester come
# from the repository's tool manifest and NuGet, not from the runner's own copies).
set -uo pipefail
cd "$(dirname "$0")"
bash tests/install-prereqs.sh
log=$(mktemp)
apiserver_work=""
cleanup() {
  rm -f "$log"
  if [ -n "$apiserver_work" ]; then ../shared/kube-apiserver/stop "$apiserver_work" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
# One real kube-apiserver (../shared/kube-apiserver) for every real-cluster suite of this run, unless the caller
# already names a cluster. Without ../shared (a clone elsewhere) those suites skip with a message.
if [ -z "${KUBESTEAD_TEST_KUBECONFIG:-}" ] && [ -x ../shared/kube-apiserver/start ]; then
  if exports=$(../shared/kube-apiserver/start); then
    eval "$exports"
    apiserver_work=$KUBE_APISERVER_WORKDIR
    export KUBESTEAD_TEST_KUBECONFIG=$KUBECONFIG_TEST
  else
    echo "test.sh: ../shared/kube-apiserver/start failed; the real-cluster suites will fail" >&2
    export KUBESTEAD_TEST_KUBECONFIG=/nonexistent/kube-apiserver-failed-to-start
  fi
fi
dotnet test Kubestead.PowerShell.sln --nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
bash tests/run-pester.sh 2>&1 | tee -a "$log"
prc=${PIPESTATUS[0]}
read -r passed failed skipped < <(awk '
  /(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { v = $(i+1); gsub(/,/, "", v); f += v }
      if ($i == "Passed:")  { v = $(i+1); gsub(/,/, "", v); p += v }
      if ($i == "Skipped:") { v = $(i+1); gsub(/,/, "", v); s += v }
    }
  }
  /^Pester: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped/ { p += $2; f += $4; s += $6 }
  END { print p+0, f+0, s+0 }' "$log")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test exited with $rc (build or runner failure)"; fi
if [ "$prc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "the Pester run exited with $prc"; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$rc" -eq 0 ] && [ "$prc" -eq 0 ]
