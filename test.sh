#!/usr/bin/env bash
# The test command: installs what integration tests need (Prometheus, when it can), runs every test
# project of the solution, and ends with one line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"
bash tests/install-prereqs.sh
log=$(mktemp)
dotnet test Kubestead.PowerShell.sln --nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
read -r passed failed skipped < <(awk '
  /(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { v = $(i+1); gsub(/,/, "", v); f += v }
      if ($i == "Passed:")  { v = $(i+1); gsub(/,/, "", v); p += v }
      if ($i == "Skipped:") { v = $(i+1); gsub(/,/, "", v); s += v }
    }
  }
  END { print p+0, f+0, s+0 }' "$log")
rm -f "$log"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test exited with $rc (build or runner failure)"; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
