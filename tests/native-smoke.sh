#!/usr/bin/env bash
# Smoke rollout with the Native AOT `kubestead` on a real kube-apiserver (issue #33): validate, plan, start, status,
# wait to Completed, abort, pause and resume, and the exit codes of each, plus the offline demo (which runs the emulated cluster inside
# the native binary). The kit has no kube-controller-manager, so a small loop here marks the namespace's Deployments
# ready through their status subresource, as the kubelet and the Deployment controller would.
# Usage: tests/native-smoke.sh BINARY KUBECONFIG   (the kit's kubeconfig: its admin context, admin.token, pki/ca.crt)
# Ends with one line "Native smoke: N passed, N failed, 0 skipped" (test.sh totals it) and exits non-zero on a failure.
set -uo pipefail
bin="$1"
kc="$2"
dir="$(cd "$(dirname "$kc")" && pwd)"
server="$(grep -m1 'server:' "$kc" | awk '{print $2}')"
ns="native-smoke-$$"
work="$(mktemp -d)"
passed=0 failed=0
api() { # METHOD PATH [BODY] [CONTENT-TYPE]: one request with the kit's admin token (read by curl from a file, never printed)
  curl -sS --fail-with-body --cacert "$dir/pki/ca.crt" -H @<(printf 'Authorization: Bearer %s' "$(cat "$dir/admin.token")") \
    -X "$1" ${3:+-H "Content-Type: ${4:-application/json}" --data-binary "$3"} "$server$2"
}
check() { # NAME EXPECTED-EXIT COMMAND...: runs the command, records pass/fail on its exit code
  local name="$1" want="$2"; shift 2
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" = "$want" ]; then passed=$((passed + 1)); echo "  passed: $name (exit $rc)"
  else failed=$((failed + 1)); echo "  FAILED: $name: exit $rc, expected $want"; tail -n 20 "$work/out" "$work/err" | sed 's/^/    /'; fi
}
expect() { # NAME CONDITION-COMMAND...: a check on what the last command printed
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "  passed: $name"; else failed=$((failed + 1)); echo "  FAILED: $name"; sed 's/^/    /' "$work/out" | tail -n 20; fi
}
phase() { jq -r '.phase' "$work/out" 2>/dev/null; } # -o json spells phases in camelCase (completed, aborted), the JIT CLI as well
ready_loop() { # the kit's stand-in for the Deployment controller: every Deployment of the namespace reports its replicas ready
  while true; do
    api GET "/apis/apps/v1/namespaces/$ns/deployments" 2>/dev/null | jq -c '.items[] | {name: .metadata.name, g: .metadata.generation, r: (.spec.replicas // 1)}' 2>/dev/null |
      while read -r d; do
        name=$(jq -r .name <<<"$d"); g=$(jq -r .g <<<"$d"); r=$(jq -r .r <<<"$d")
        api PATCH "/apis/apps/v1/namespaces/$ns/deployments/$name/status" \
          "{\"status\":{\"observedGeneration\":$g,\"replicas\":$r,\"updatedReplicas\":$r,\"readyReplicas\":$r,\"availableReplicas\":$r}}" \
          application/merge-patch+json >/dev/null 2>&1
      done
    sleep 0.5
  done
}
app() { # NAME: a Deployment of 2 and its Service
  api POST "/apis/apps/v1/namespaces/$ns/deployments" "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"$1\"},
    \"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"$1\",\"version\":\"stable\"}},
    \"template\":{\"metadata\":{\"labels\":{\"app\":\"$1\",\"version\":\"stable\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"registry.example.com/$1:1.0.0\"}]}}}}" >/dev/null
  api POST "/api/v1/namespaces/$ns/services" "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$1\"},
    \"spec\":{\"selector\":{\"app\":\"$1\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}]}}" >/dev/null
}
spec() { # NAME PAUSE: a rollout of NAME to 2.0.0 without a mesh: 50 %, then a pause
  cat >"$work/$1.yaml" <<YAML
apiVersion: kubestead.io/v1alpha1
kind: Rollout
metadata:
  name: $1
  namespace: $ns
spec:
  service: $1
  meshProvider: none
  none:
    capacity: keepStable
    readyTimeout: 1m
  stable:
    deployment: $1
  canary:
    image: registry.example.com/$1:2.0.0
  scaleDownDelay: 0s
  steps:
    - setWeight: 50
    - pause:
        duration: $2
YAML
  echo "$work/$1.yaml"
}
loop_pid=""
cleanup() {
  [ -n "$loop_pid" ] && kill "$loop_pid" 2>/dev/null
  api DELETE "/api/v1/namespaces/$ns" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
k() { "$bin" --kubeconfig "$kc" --context admin -n "$ns" "$@"; }

echo "native smoke: $bin ($(du -h "$bin" | cut -f1)) against $server, namespace $ns"
api POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" >/dev/null || { echo "cannot create namespace $ns"; exit 1; }
app shop; app cart; app web
ready_loop & loop_pid=$!

check "--version" 0 "$bin" --version
check "validate a good spec" 0 "$bin" validate -f "$(spec shop 2s)"
printf 'apiVersion: kubestead.io/v1alpha1\nkind: Rollout\nmetadata: {name: bad}\nspec:\n  meshProvider: nope\n' >"$work/bad.yaml"
check "validate a bad spec exits 2 (InvalidInput)" 2 "$bin" validate -f "$work/bad.yaml"
expect "validate names the bad field" grep -q "meshProvider" "$work/out" "$work/err"
check "plan -o json" 0 "$bin" plan --weight 10 --window 1m --rps 50 -o json
expect "plan prints one JSON document" jq -e 'type == "object"' "$work/out"
check "start --no-wait" 0 k start -f "$work/shop.yaml" --no-wait
check "status shop -o json" 0 k status shop -o json
expect "status reads the rollout back" test "$(phase)" != ""
check "status (list)" 0 k status
expect "the list names shop" grep -q shop "$work/out"
check "wait drives shop to the end (exit 0)" 0 k wait shop --timeout 3m -o json
expect "wait ends completed" test "$(phase)" = completed
check "status of a missing rollout exits 1 (RolloutNotFound)" 1 k status nope
expect "status names the missing rollout" grep -q "RolloutNotFound" "$work/err"
check "start cart with a long pause" 0 k start -f "$(spec cart 10m)" --no-wait
check "abort cart exits 3 (RolledBack: abort reports the outcome)" 3 k abort cart
check "status cart -o json after abort" 0 k status cart -o json
expect "cart is rolled back (aborted)" test "$(phase)" = aborted
check "wait on an aborted rollout exits 3 (RolledBack)" 3 k wait cart --timeout 1m
check "start web with a long pause" 0 k start -f "$(spec web 10m)" --no-wait
check "pause web exits 4 (Paused)" 4 k pause web
check "resume web --no-wait exits 0 (running again)" 0 k resume web --no-wait
check "status web -o json after resume" 0 k status web -o json
expect "web is no longer paused" test "$(phase)" = progressing
# Every way to authenticate goes through Kubestead's own transport (docs/native.md): a client certificate, and an exec
# credential plugin (here a script that hands out the kit's admin token, as EKS/GKE/AKS plugins hand out theirs).
check "status with a client certificate (the kit's admin-cert context)" 0 "$bin" --kubeconfig "$kc" --context admin-cert -n "$ns" status
expect "the client-certificate status lists shop" grep -q shop "$work/out"
printf '#!/bin/sh\nprintf '"'"'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%%s"}}'"'"' "$(cat %s)"\n' "$dir/admin.token" >"$work/plugin.sh"
chmod +x "$work/plugin.sh"
cat >"$work/exec-kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: kit, cluster: {server: "$server", certificate-authority: "$dir/pki/ca.crt"}}]
users: [{name: plugin, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: "$work/plugin.sh", interactiveMode: Never}}}]
contexts: [{name: kit, context: {cluster: kit, user: plugin}}]
current-context: kit
YAML
check "status with an exec credential plugin" 0 "$bin" --kubeconfig "$work/exec-kubeconfig" -n "$ns" status
expect "the exec-plugin status lists shop" grep -q shop "$work/out"
lacks() { ! grep -aq "$1" "$2"; }
expect "the binary carries no Kubernetes model serializers (they cost ~15 MB of every command's memory)" lacks V1PodSpec "$bin"
check "demo (the emulated cluster in the native binary)" 0 "$bin" demo --mesh istio
echo "Native smoke: $passed passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
