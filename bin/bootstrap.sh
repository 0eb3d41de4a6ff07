#!/usr/bin/env bash
# Makes a fresh Debian/Ubuntu machine ready for `npm test`, `npm start` and `npm run bench`:
# Debian's haproxy, a Java 17 runtime (DynamoDB Local) and tmux (the CLI's terminal tests) when missing, and
# node_modules matching package-lock.json.
# Idempotent and quiet when there is nothing to do, so every npm script can run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Node: what package.json's engines say (osls, the packager, declares the same; every other pinned package,
# dev ones included, accepts at least that).
node_wanted='^20.19 || ^22.13 || >=24'
if ! command -v node >/dev/null 2>&1; then
  echo "bootstrap: node is not installed: install Node ${node_wanted} (e.g. from nodejs.org), then run this again." >&2
  exit 1
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || (a === 22 && b >= 13) || a >= 24 ? 0 : 1)'; then
  echo "bootstrap: Node $(node --version) is not supported: this project needs Node ${node_wanted} (package.json engines)." >&2
  exit 1
fi

need_pkgs=()
command -v haproxy >/dev/null 2>&1 || need_pkgs+=(haproxy)
command -v tmux >/dev/null 2>&1 || need_pkgs+=(tmux)
if ! command -v java >/dev/null 2>&1 || ! java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then
  need_pkgs+=(openjdk-17-jre-headless)
fi

if ((${#need_pkgs[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${need_pkgs[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    # Debian starts the packaged haproxy service on install where systemd runs; its port 80 listener is not ours.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
      systemctl stop haproxy || true
    fi
  else
    echo "bootstrap: ${need_pkgs[*]} missing and this is not root: run 'sudo apt-get install ${need_pkgs[*]}' (Debian/Ubuntu), then this again." >&2
    exit 1
  fi
fi

# Reinstall node_modules whenever package-lock.json changed since the last install.
stamp=node_modules/.slot-sync-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "bootstrap: npm ci" >&2
  # No install script is needed: every native piece ships prebuilt in a registry package (reference/toolchain.md).
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
