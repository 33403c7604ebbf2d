#!/usr/bin/env bash
# The CI step for the native `kubestead` (issue #33): publishes it (build/native-publish.sh: trim and AOT warnings are
# errors) and drives a smoke rollout with it on a real kube-apiserver of its own (tests/native-smoke.sh). It is a step
# beside ./test.sh, not inside it: the AOT compile alone is minutes of CPU on 2 cores that the suites already fill
# (docs/native.md has the numbers). Ends with the smoke's "Native smoke: N passed, N failed, 0 skipped" line.
set -uo pipefail
cd "$(dirname "$0")/.."
kit=../shared/kube-apiserver
build/native-publish.sh || { echo "native-ci: the native publish failed"; echo "Native smoke: 0 passed, 1 failed, 0 skipped"; exit 1; }
exports=$("$kit/start") || { echo "native-ci: $kit/start failed"; echo "Native smoke: 0 passed, 1 failed, 0 skipped"; exit 1; }
eval "$exports"
trap '"$kit/stop" "$KUBE_APISERVER_WORKDIR" >/dev/null 2>&1 || true' EXIT
bash tests/native-smoke.sh out/native/publish/kubestead "$KUBECONFIG_TEST"
