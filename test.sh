#!/usr/bin/env bash
# The test command: installs what integration tests need (Prometheus), runs every xUnit project of the solution,
# then the Pester suite in pwsh 7.6.9 (tests/run-pester.sh), and ends with one line "N passed, N failed, N skipped"
# totalled over all of them. Works the same on GitHub-hosted runners (the .NET SDK is there; pwsh and Pester come
# from the repository's tool manifest and NuGet, not from the runner's own copies).
set -uo pipefail
cd "$(dirname "$0")"
t0=$(date +%s)
# "test.sh phase: NAME ended at +Ns": where the wall time goes, so the long pole is visible in every CI log (issue #33).
phase() { echo "test.sh phase: $1 ended at +$(( ${2:-$(date +%s)} - t0 ))s"; }
bash tests/install-prereqs.sh
phase prerequisites
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
# Build once, then run the xUnit projects and the Pester suite side by side: most of their time is spent waiting (real
# API servers restarting, rollouts on the wall clock), so on 2 cores the two overlap instead of adding up (issue #33).
# Pester's lines carry a "[pester] " prefix; its log is kept apart so the totals below read each once.
plog=$(mktemp)
trap 'cleanup; rm -f "$plog" "$plog.help"' EXIT
build_ok=1
dotnet build Kubestead.PowerShell.sln --nologo -v q -clp:ErrorsOnly 2>&1 | tee "$log" || build_ok=0
# The staged module Pester imports, copied before the xUnit run starts so nothing is rebuilt under a running test.
[ "$build_ok" = 1 ] && { dotnet build src/Kubestead.PowerShell -t:StageModule --nologo -v q -clp:ErrorsOnly 2>&1 | tee -a "$log" || build_ok=0; }
phase build
if [ "$build_ok" = 1 ]; then
  # The Pester suite runs as two halves at once, the help examples (each runs against a sandbox) beside the rest, so
  # it ends with the xUnit projects instead of ten minutes after them. They share nothing but the staged module.
  KUBESTEAD_PESTER_PREBUILT=1 bash tests/run-pester.sh --restore-only > "$plog" 2>&1 || true
  help_files=tests/pester/HelpExamples.Tests.ps1,tests/pester/Conventions.Tests.ps1
  rest_files=$(ls tests/pester/*.Tests.ps1 | grep -v -e '/HelpExamples.Tests.ps1$' -e '/Conventions.Tests.ps1$' | paste -sd, -)
  ( KUBESTEAD_PESTER_PREBUILT=1 KUBESTEAD_PESTER_RESTORED=1 bash tests/run-pester.sh -Path "$rest_files" >> "$plog" 2>&1; echo $? > "$plog.rc"; date +%s > "$plog.end" ) &
  pester_pid=$!
  ( KUBESTEAD_PESTER_PREBUILT=1 KUBESTEAD_PESTER_RESTORED=1 bash tests/run-pester.sh -Path "$help_files" > "$plog.help" 2>&1; echo $? > "$plog.help.rc"; date +%s > "$plog.help.end" ) &
  pester_help_pid=$!
  tail -n +1 -f "$plog" --pid=$pester_pid 2>/dev/null | sed -u 's/^/[pester] /' &
  tail -n +1 -f "$plog.help" --pid=$pester_help_pid 2>/dev/null | sed -u 's/^/[pester-help] /' &
  dotnet test Kubestead.PowerShell.sln --nologo --no-build "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  phase xunit
  wait $pester_pid $pester_help_pid
  phase "pester (all but the help examples)" "$(cat "$plog.end" 2>/dev/null || date +%s)"
  phase "pester (help examples and conventions)" "$(cat "$plog.help.end" 2>/dev/null || date +%s)"
  sleep 1
  prc=$(cat "$plog.rc" 2>/dev/null || echo 1)
  [ "$(cat "$plog.help.rc" 2>/dev/null || echo 1)" = 0 ] || prc=1
  rm -f "$plog.rc" "$plog.help.rc" "$plog.end" "$plog.help.end"
  cat "$plog" "$plog.help" >> "$log"
else
  echo "the solution did not build; no test ran"
  rc=1
  prc=1
fi
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
