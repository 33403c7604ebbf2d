#!/usr/bin/env bash
# Runs the Pester suite (tests/pester) in pwsh 7.6.9 from the repository's tool manifest, with Pester 5.9.1 restored
# from NuGet. Neither may be missing: a failed restore is a failed test run. Ends with "Pester: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fail() { echo "run-pester: $*" >&2; echo "Pester: 0 passed, 1 failed"; exit 1; }

# test.sh runs two of these at once (one per half of the suite) and restores once before, since two restores of the
# same project at once would write the same obj/ files.
if [ -z "${KUBESTEAD_PESTER_RESTORED:-}" ]; then
  dotnet tool restore >/dev/null || fail "dotnet tool restore failed: pwsh 7.6.9 (dotnet tool 'PowerShell') could not be restored"
  dotnet restore tests/pester/restore --nologo -v q >/dev/null || fail "could not restore Pester 5.9.1 from NuGet (tests/pester/restore)"
fi
[ "${1:-}" = "--restore-only" ] && exit 0
cache=$(dotnet nuget locals global-packages --list | sed -E 's/^global-packages: *//')
pester_tools="$cache/pester/5.9.1/tools"
[ -f "$pester_tools/Pester.psd1" ] || fail "Pester 5.9.1 restored but $pester_tools/Pester.psd1 is missing"
modules="$root/out/pester-modules"
mkdir -p "$modules/Pester"
ln -sfn "$pester_tools" "$modules/Pester/5.9.1"

# The staged module and the CLI the sandbox tests start. test.sh builds and stages them first and sets
# KUBESTEAD_PESTER_PREBUILT, so nothing is rebuilt here while xUnit tests run from the same binaries.
if [ -z "${KUBESTEAD_PESTER_PREBUILT:-}" ]; then
  dotnet build src/Kubestead.PowerShell -t:StageModule --nologo -v q -clp:ErrorsOnly >/dev/null || fail "module staging failed"
  dotnet build src/Kubestead.Cli --nologo -v q -clp:ErrorsOnly >/dev/null || fail "CLI build failed"
fi

export PSModulePath="$modules"
export KUBESTEAD_TEST_OLD_YAMLDOTNET="$cache/yamldotnet/13.1.1/lib/net7.0/YamlDotNet.dll"
export KUBESTEAD_TEST_OLD_KUBERNETESCLIENT="$cache/kubernetesclient/19.0.2/lib/net8.0/KubernetesClient.dll"
export KUBESTEAD_REPO_ROOT="$root"
dotnet pwsh -NoProfile -NonInteractive -File tests/pester/Invoke-KubesteadPester.ps1 "$@"
