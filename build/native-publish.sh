#!/usr/bin/env bash
# Publishes the Native AOT `kubestead` for linux-x64 to out/native/publish/kubestead (docs/native.md).
# Core is compiled against KubernetesClient.Aot there (-p:KubesteadNative=true), into out/native/ only, so the JIT
# build, the dotnet tool and the PowerShell module are untouched. Trim and AOT warnings fail the publish, as every
# warning does in this repository. Installs the native toolchain (clang, zlib1g-dev) when it runs as root and they
# are missing. Usage: build/native-publish.sh [Release|Debug] [PROJECT OUTPUT-DIR]
# (PROJECT and OUTPUT-DIR default to src/Kubestead.Cli and out/native/publish; test.sh also publishes
# tests/native-trim-check, which must fail.)
set -euo pipefail
cd "$(dirname "$0")/.."
configuration="${1:-Release}"
project="${2:-src/Kubestead.Cli}"
output="${3:-out/native/publish}"
if ! command -v clang >/dev/null 2>&1 || [ ! -e /usr/include/zlib.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y --no-install-recommends clang zlib1g-dev >/dev/null 2>&1 \
      || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends clang zlib1g-dev >/dev/null; }
  else
    echo "native-publish: Native AOT needs clang and zlib1g-dev (apt-get install clang zlib1g-dev)" >&2
    exit 1
  fi
fi
# ILC's trim and AOT warnings (IL2xxx, IL3xxx) are MSBuild warnings: TreatWarningsAsErrors reaches only the C#
# compiler, so without MSBuildTreatWarningsAsErrors they would scroll by and the publish would pass. The NuGet codes
# stay warnings here as everywhere (Directory.Build.props: this machine's NuGet copy lacks some exact versions).
dotnet publish "$project" -c "$configuration" -r linux-x64 -p:KubesteadNative=true \
  -p:MSBuildTreatWarningsAsErrors=true -p:MSBuildWarningsNotAsErrors=NU1603%3BNU1901%3BNU1902%3BNU1903%3BNU1904 \
  -o "$output" --nologo -v q -clp:ErrorsOnly
echo "$output"
