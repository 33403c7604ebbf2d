#!/usr/bin/env bash
# Installs what the integration tests need beyond the .NET SDK: Prometheus (and promtool) from Debian, kubectl,
# Chromium (the report's browser test takes a headless screenshot), and nginx and VictoriaMetrics (the metrics
# connection tests put Prometheus behind nginx's auth checks and compare VictoriaMetrics's answers with Prometheus's).
# Without them those tests skip with a message; everything else still runs.
set -u
has_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; }
has_nginx() { [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; }
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && command -v kubectl >/dev/null 2>&1 && has_chromium \
  && has_nginx && command -v victoria-metrics >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-prereqs: apt-get not found; Prometheus tests will skip (install prometheus and promtool to run them)." >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "install-prereqs: not root and no passwordless sudo; Prometheus tests will skip." >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
# policy-rc.d keeps the package from starting a system service: tests start their own on a free port.
if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ] && [ -z "$SUDO" ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 \
  || echo "install-prereqs: apt-get install prometheus failed; Prometheus tests will skip." >&2
# kubectl reads back what Kubestead wrote in the real-cluster suite (the package is "kubectl" where the machine's apt
# sources carry it, Debian's "kubernetes-client" otherwise).
command -v kubectl >/dev/null 2>&1 || $SUDO apt-get install -y -qq --no-install-recommends kubectl >/dev/null 2>&1 \
  || $SUDO apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null 2>&1 \
  || echo "install-prereqs: kubectl could not be installed; the kubectl read-back test will skip." >&2
# Chromium renders the HTML report in the browser test (headless screenshot).
has_chromium || $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
  || echo "install-prereqs: chromium could not be installed; the report's browser test will skip." >&2
# nginx (run by the tests as their own non-daemon child on a free port) and VictoriaMetrics (a second
# Prometheus-compatible store) for the metrics connection tests.
has_nginx || $SUDO apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1 \
  || echo "install-prereqs: nginx could not be installed; the authenticated-Prometheus tests will skip." >&2
command -v victoria-metrics >/dev/null 2>&1 || $SUDO apt-get install -y -qq --no-install-recommends victoria-metrics >/dev/null 2>&1 \
  || echo "install-prereqs: victoria-metrics could not be installed; the Prometheus-compatible store test will skip." >&2
exit 0
