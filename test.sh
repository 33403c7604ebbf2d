#!/usr/bin/env bash
# The test command: installs what integration tests need (Prometheus), builds the solution once, then runs side by side
# every xUnit project of the solution, the Pester suite in pwsh 7.6.9 (tests/run-pester.sh, in streams), and the
# native `kubestead` (build/native-publish.sh with trim and AOT warnings as errors, then tests/native-smoke.sh on the
# real kube-apiserver), and ends with one line "N passed, N failed, N skipped" totalled over all of them. Works the same
# on GitHub-hosted runners (the .NET SDK is there; pwsh and Pester come from the repository's tool manifest and NuGet,
# not from the runner's own copies).
set -uo pipefail
cd "$(dirname "$0")"
t0=$(date +%s)
# "test.sh phase: NAME ended at +Ns": where the wall time goes, so the long pole is visible in every CI log (issue #33).
phase() { echo "test.sh phase: $1 ended at +$(( ${2:-$(date +%s)} - t0 ))s"; }
bash tests/install-prereqs.sh
phase prerequisites
log=$(mktemp)
work=$(mktemp -d)
apiserver_work=""
cleanup() {
  rm -rf "$log" "$work"
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

# A stream runs in the background beside the xUnit projects: its output goes to $work/NAME.log, shown live with a
# "[NAME] " prefix, and its exit code and end time to NAME.rc and NAME.end. Most of the suites' time is spent waiting
# (API servers restarting, rollouts on the wall clock, child processes starting), so on 2 cores they overlap instead
# of adding up (issue #33). Every log is read once for the totals at the end.
declare -A stream_pid=()
stream_names=()
stream() { # NAME COMMAND...
  local name=$1; shift
  ( "$@" > "$work/$name.log" 2>&1; echo $? > "$work/$name.rc"; date +%s > "$work/$name.end" ) &
  stream_pid[$name]=$!
  stream_names+=("$name")
  tail -n +1 -F "$work/$name.log" --pid="${stream_pid[$name]}" 2>/dev/null | sed -u "s/^/[$name] /" &
}
pester() { KUBESTEAD_PESTER_PREBUILT=1 KUBESTEAD_PESTER_RESTORED=1 bash tests/run-pester.sh -Path "$(IFS=,; echo "$*")"; }

# The native `kubestead`: published once (build/native-publish.sh: trim and AOT warnings are errors, a failed publish
# is a failed test), then two consumers of that binary run side by side: tests/pester/Packaging.Tests.ps1 (build.ps1
# -Task Package -NoBuild packs it with the module and the dotnet tool) and tests/native-smoke.sh (a rollout driven by it
# on the real kube-apiserver of this run, or on one of its own when the caller named another cluster). The publish
# uses the Debug configuration: the same trim and AOT analysis as Release without ILC's optimisation passes, as the
# packaging test's publish did before (docs/native.md); build.ps1 keeps Release for what users get.
native_configuration=Debug
# The publish must refuse what Native AOT cannot guarantee: tests/native-trim-check hides a trim-unsafe call where only
# the AOT compiler sees it, so this fails if ILC's warnings stop failing the publish (they once only scrolled by).
native_trim_check() {
  if bash build/native-publish.sh "$native_configuration" tests/native-trim-check out/native-trim-check/publish > "$work/trim-check.out" 2>&1; then
    echo "native: build/native-publish.sh published tests/native-trim-check; its trim warning (IL2057) must fail the publish"
  elif grep -q 'error IL2057' "$work/trim-check.out"; then
    echo "Native publish: 1 passed, 0 failed, 0 skipped (a trim warning fails the publish)"
    return 0
  else
    echo "native: the publish of tests/native-trim-check failed, but not on its trim warning IL2057:"; tail -n 20 "$work/trim-check.out"
  fi
  echo "Native publish: 0 passed, 1 failed, 0 skipped"
  return 1
}
native() {
  local smoke_work="" kubeconfig="" rc=0
  if bash build/native-publish.sh "$native_configuration"; then
    echo "Native publish: 1 passed, 0 failed, 0 skipped"
  else
    echo "native: build/native-publish.sh $native_configuration failed"
    echo "Native publish: 0 passed, 1 failed, 0 skipped"
    rc=1
  fi
  date +%s > "$work/native-publish.end"
  ( pester tests/pester/Packaging.Tests.ps1 > "$work/pester-package.log" 2>&1; echo $? > "$work/pester-package.rc"; date +%s > "$work/pester-package.end" ) &
  local package_pid=$!
  native_trim_check > "$work/trim-check.log" 2>&1 &
  local trim_check_pid=$!
  if [ "$rc" = 0 ]; then
    if [ -n "$apiserver_work" ]; then
      kubeconfig=$KUBESTEAD_TEST_KUBECONFIG
    elif [ -x ../shared/kube-apiserver/start ] && exports=$(../shared/kube-apiserver/start); then
      smoke_work=$(eval "$exports"; echo "$KUBE_APISERVER_WORKDIR")
      kubeconfig=$smoke_work/kubeconfig
    fi
    if [ -n "$kubeconfig" ]; then
      bash tests/native-smoke.sh out/native/publish/kubestead "$kubeconfig" || rc=1
    else
      echo "native: no real kube-apiserver (../shared/kube-apiserver) to drive the smoke rollout on"
      echo "Native smoke: 0 passed, 0 failed, 1 skipped"
    fi
    [ -n "$smoke_work" ] && ../shared/kube-apiserver/stop "$smoke_work" >/dev/null 2>&1
  fi
  wait "$trim_check_pid" || rc=1
  cat "$work/trim-check.log"
  wait "$package_pid"
  return "$rc"
}

build_ok=1
dotnet build Kubestead.PowerShell.sln --nologo -v q -clp:ErrorsOnly 2>&1 | tee "$log" || build_ok=0
# The staged module Pester imports, copied before the xUnit run starts so nothing is rebuilt under a running test.
[ "$build_ok" = 1 ] && { dotnet build src/Kubestead.PowerShell -t:StageModule --nologo -v q -clp:ErrorsOnly 2>&1 | tee -a "$log" || build_ok=0; }
phase build
if [ "$build_ok" = 1 ]; then
  # Pester is restored once, before its streams start (two restores of one project at once write the same obj/ files).
  KUBESTEAD_PESTER_PREBUILT=1 bash tests/run-pester.sh --restore-only > "$work/pester-restore.log" 2>&1
  stream native native
  tail -n +1 -F "$work/pester-package.log" --pid="${stream_pid[native]}" 2>/dev/null | sed -u 's/^/[pester-package] /' &
  # Pester in three streams of a few minutes each, the long files apart. They share nothing but the staged module: each
  # file imports it and starts its own sandboxes. Files not named here (new ones too) run in the "pester" stream.
  help_files=(tests/pester/HelpExamples.Tests.ps1 tests/pester/Conventions.Tests.ps1)
  safety_files=(tests/pester/Safety.Tests.ps1 tests/pester/Linkerd1.Tests.ps1 tests/pester/Approval.Tests.ps1)
  named=" ${help_files[*]} ${safety_files[*]} tests/pester/Packaging.Tests.ps1 "
  rest_files=()
  for f in tests/pester/*.Tests.ps1; do [[ "$named" == *" $f "* ]] || rest_files+=("$f"); done
  stream pester-help pester "${help_files[@]}"
  stream pester-safety pester "${safety_files[@]}"
  stream pester pester "${rest_files[@]}"
  dotnet test Kubestead.PowerShell.sln --nologo --no-build "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  phase xunit
  wait "${stream_pid[@]}"
  sleep 1 # the last lines of the live tails
  phase "native publish" "$(cat "$work/native-publish.end" 2>/dev/null || date +%s)"
  [ -e "$work/pester-package.end" ] && phase "pester-package (after the native publish)" "$(cat "$work/pester-package.end")"
  [ -e "$work/pester-package.rc" ] || echo 1 > "$work/pester-package.rc"
  stream_names+=(pester-package)
  prc=0
  for name in "${stream_names[@]}"; do
    [ "$name" = pester-package ] || phase "$name" "$(cat "$work/$name.end" 2>/dev/null || date +%s)"
    src=$(cat "$work/$name.rc" 2>/dev/null || echo 1)
    [ "$src" = 0 ] || { prc=1; echo "test.sh: the $name stream exited with $src"; }
    cat "$work/$name.log" >> "$log"
  done
else
  echo "the solution did not build; no test ran"
  rc=1
  prc=1
fi
# xUnit's "Passed!/Failed! - Failed: N, Passed: N, Skipped: N" per project, and one "<suite>: N passed, N failed,
# N skipped" line per Pester stream, the native publish and the native smoke.
read -r passed failed skipped < <(awk '
  /(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { v = $(i+1); gsub(/,/, "", v); f += v }
      if ($i == "Passed:")  { v = $(i+1); gsub(/,/, "", v); p += v }
      if ($i == "Skipped:") { v = $(i+1); gsub(/,/, "", v); s += v }
    }
  }
  /^(Pester|Native publish|Native smoke): [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped/ {
    sub(/^[^:]*: /, ""); p += $1; f += $3; s += $5
  }
  END { print p+0, f+0, s+0 }' "$log")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test exited with $rc (build or runner failure)"; fi
if [ "$prc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "a Pester or native stream failed without a failed test"; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$rc" -eq 0 ] && [ "$prc" -eq 0 ]
