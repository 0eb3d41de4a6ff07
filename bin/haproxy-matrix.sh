#!/usr/bin/env bash
# Version matrix: builds HAProxy 3.0 / 3.2 from Debian's source packages (cached) and runs the integration and fault
# tests once per version (plus Debian 12's own 2.6.12), printing one line per version from vitest's JSON report.
#
# Usage: bin/haproxy-matrix.sh [--build-only] [--allow-unavailable] [--skip VERSION=REASON]... [--binary VERSION=PATH]...
#        [VERSION...]   (default: every version below)
#   --binary runs the tests against a binary built elsewhere too (e.g. an upstream tag), under its own line.
#   --allow-unavailable: a version whose sources the Debian mirror cannot deliver (its index may name a revision
#   the mirror does not have yet) gets a 'not built' line instead of failing the run; test failures still fail it.
#   --skip VERSION=REASON: that version is neither built nor tested (a system binary is still checked); its line
#   says why instead of counts. CI skips 2.6.12 this way: `npm test` has just run the same tests on that binary.
#   Builds go to .cache/haproxy/<version>/haproxy (git-ignored); an existing binary that reports the right version
#   is reused. A build needs root (apt-get): it adds a deb-src-only sources file, so nothing on the machine is
#   upgraded from trixie or sid. Exit 0 = every test passed on every version.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# version | Debian suite of its source package ('system' = the bookworm package installed as /usr/sbin/haproxy).
# Upstream versions are pinned; the Debian revision (e.g. 3.0.11-1+deb13u4) is whatever the suite has for it now.
MATRIX=(
  "2.6.12 system"
  "3.0.11 trixie"
  "3.2.26 sid"
)
SOURCES_FILE=/etc/apt/sources.list.d/slot-sync-haproxy-src.sources
BUILD_DEPS=(dpkg-dev gcc make libc6-dev libpcre2-dev libssl-dev zlib1g-dev)
TEST_PATHS=(test/integration test/faults)
cache=$root/.cache/haproxy

log() { echo "haproxy-matrix: $*" >&2; }
die() {
  log "$*"
  exit 1
}

build_only=false
allow_unavailable=false
unavailable=()
wanted=()
extra=()
skipped=()
while (($#)); do
  case $1 in
    --build-only) build_only=true; shift ;;
    --allow-unavailable) allow_unavailable=true; shift ;;
    --binary)
      [[ ${2:-} == ?*=?* ]] || die "--binary needs VERSION=PATH"
      [[ -x ${2#*=} ]] || die "--binary ${2}: not an executable"
      extra+=("$2"); shift 2 ;;
    --skip)
      [[ ${2:-} == ?*=?* ]] || die "--skip needs VERSION=REASON"
      skipped+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,14p' "$0" >&2; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) wanted+=("$1"); shift ;;
  esac
done

suite_of() {
  local entry
  for entry in "${MATRIX[@]}"; do
    [[ ${entry%% *} == "$1" ]] && { echo "${entry#* }"; return 0; }
  done
  return 1
}

# reports VERSION BIN: true when BIN runs and `-v` names exactly that upstream version.
reports() {
  local line
  line=$("$2" -v 2>/dev/null) || return 1
  line=${line%%$'\n'*}
  [[ $line == "HAProxy version $1"[-+\ ]* ]]
}

ensure_sources() {
  if [[ ! -f $SOURCES_FILE ]]; then
    log "adding deb-src for trixie and sid in $SOURCES_FILE (source packages only)"
    cat >"$SOURCES_FILE" <<'EOF'
# haproxy-slot-sync version matrix (bin/haproxy-matrix.sh): source packages only, nothing is installed from these suites.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
}

# src_record VERSION: the newest `apt-cache showsrc haproxy` paragraph for that upstream version.
src_record() {
  apt-cache showsrc haproxy 2>/dev/null | awk -v v="$1" 'BEGIN { RS = "" }
    { if (match($0, /(^|\n)Version: [^\n]+/)) { ver = substr($0, RSTART, RLENGTH); sub(/^\n?Version: /, "", ver)
      if (index(ver, v "-") == 1) print ver "\t" NR } }' | sort -V | tail -n 1 | cut -f2 |
    { read -r n || exit 0; apt-cache showsrc haproxy 2>/dev/null | awk -v n="$n" 'BEGIN { RS = ""; ORS = "\n\n" } NR == n'; }
}

# fetch_sources VERSION DIR: extracts the source tree into DIR and prints its path. Debian's source package when the
# mirror has it (`apt-get source`, patches applied); else the upstream tarball the same index lists, checked against
# the index's SHA-256 (the mirror may lag behind its own index: seen with 3.0.11-1+deb13u4).
fetch_sources() {
  local version=$1 dir=$2 record deb
  record=$(src_record "$version")
  if [[ -z $record ]]; then
    apt-get update -qq >/dev/null
    record=$(src_record "$version")
  fi
  [[ -n $record ]] || die "no Debian source package haproxy $version-* in trixie or sid (apt-cache showsrc haproxy)"
  deb=$(awk '$1 == "Version:" { print $2; exit }' <<<"$record")
  echo "$deb" >"$dir/debian-version"
  log "$version: apt-get source haproxy=$deb"
  if (cd "$dir" && apt-get source -qq "haproxy=$deb" >/dev/null 2>"$dir/apt-get-source.log"); then
    find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'haproxy-*' | head -n 1
    return 0
  fi
  log "$version: the mirror cannot deliver haproxy $deb ($(grep -m1 -o '[0-9]\{3\} [A-Za-z ]*' "$dir/apt-get-source.log" || echo 'see log')); trying its upstream tarball"
  local directory uri line sha file
  directory=$(awk '$1 == "Directory:" { print $2; exit }' <<<"$record")
  uri=$(awk '$1 == "URIs:" { print $2; exit }' "$SOURCES_FILE")
  line=$(awk '/^Checksums-Sha256:/ { on = 1; next } on && /^ / { print } on && !/^ / { on = 0 }' <<<"$record" |
    grep -m1 "haproxy_$version\.orig\.tar\.gz\$" || true)
  [[ -n $line ]] || die "$version: the index lists no haproxy_$version.orig.tar.gz"
  read -r sha _ file <<<"$line"
  /usr/lib/apt/apt-helper download-file "$uri/$directory/$file" "$dir/$file" "SHA256:$sha" >"$dir/apt-helper.log" 2>&1 ||
  { log "$version: neither haproxy $deb nor $file can be downloaded from $uri: $(tail -n 2 "$dir/apt-helper.log")"; return 3; }
  tar -xzf "$dir/$file" -C "$dir"
  echo "upstream $file (sha256 $sha from the index of $deb; Debian patches not applied)" >"$dir/debian-version"
  find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'haproxy-*' | head -n 1
}

build() {
  local version=$1 out=$cache/$1/haproxy
  if [[ -x $out ]] && reports "$version" "$out"; then
    log "$version: cached ($out)"
    return 0
  fi
  [[ $(id -u) -eq 0 ]] || die "$version is not built yet and building needs root (apt-get): run this as root once"
  export DEBIAN_FRONTEND=noninteractive
  ensure_sources
  local missing=() pkg
  for pkg in "${BUILD_DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  local src=$cache/src/$version started=$SECONDS tree
  rm -rf "$src" && mkdir -p "$src"
  local rc=0
  tree=$(fetch_sources "$version" "$src") || rc=$?
  if ((rc == 3)); then
    $allow_unavailable || die "$version: sources not downloadable (see above); --allow-unavailable reports this instead of failing"
    unavailable+=("$version")
    rm -rf "$src"
    return 0
  fi
  [[ -n $tree && -f $tree/Makefile ]] || die "$version: no haproxy source tree in $src"
  log "$version: make (log: $src/make.log)"
  # The headers above are all a plain build needs; nothing else (Lua, Prometheus, QUIC) is used by the tests.
  make -C "$tree" -j"$(nproc)" TARGET=linux-glibc USE_OPENSSL=1 USE_PCRE2=1 USE_ZLIB=1 >"$src/make.log" 2>&1 ||
    die "$version: build failed: $(tail -n 20 "$src/make.log")"
  mkdir -p "$cache/$version"
  cp "$tree/haproxy" "$out.tmp" && mv -f "$out.tmp" "$out"
  reports "$version" "$out" || die "$version: the built binary reports $("$out" -v | head -n 1)"
  # Keep the log and what was built; the extracted tree is not needed again.
  cp "$src/make.log" "$src/debian-version" "$cache/$version/"
  rm -rf "$src"
  log "$version: built ($(cat "$cache/$version/debian-version")) in $((SECONDS - started))s"
}

binary_of() {
  if [[ $(suite_of "$1") == system ]]; then echo /usr/sbin/haproxy; else echo "$cache/$1/haproxy"; fi
}

# run_version VERSION BIN: the tests against that binary; prints the summary line, returns non-zero on failures.
run_version() {
  local version=$1 bin=$2 report=$cache/$1/vitest.json started=$SECONDS
  mkdir -p "$cache/$version"
  rm -f "$report"
  log "$version: vitest ${TEST_PATHS[*]} with HAPROXY_BIN=$bin (log: $cache/$version/vitest.log)"
  HAPROXY_BIN=$bin nice -n 10 npx vitest run "${TEST_PATHS[@]}" --reporter=default --reporter=json \
    --outputFile.json="$report" >"$cache/$version/vitest.log" 2>&1 || true
  # One read of the report: every failure, named with the head of its message (CI keeps only this script's output,
  # not the log, so a failure that does not come back on a rerun can still be read), then the counts as the last line.
  local out counts
  out=$(node -e '
    let r;
    try {
      r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    } catch {
      process.exit(1);
    }
    const root = process.cwd() + "/";
    for (const f of r.testResults) {
      const file = f.name.replace(root, "");
      if (f.status === "failed" && f.assertionResults.length === 0) console.log(`  FAIL ${file}: ${(f.message ?? "").split("\n").slice(0, 8).join("\n    ")}`);
      for (const t of f.assertionResults.filter((a) => a.status === "failed")) {
        console.log(`  FAIL ${file} > ${t.fullName} (${Math.round(t.duration ?? 0)} ms)`);
        for (const m of t.failureMessages ?? []) {
          const lines = m.split("\n").filter((l) => !l.includes("node_modules/") && !l.includes("(<anonymous>)"));
          console.log(`    ${lines.slice(0, 12).join("\n    ")}`);
        }
      }
    }
    // A file that fails to load has no test results of its own: count it as one failure, never as zero.
    const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + broken, r.numTotalTests);
  ' "$report" 2>/dev/null) || out=''
  counts=${out##*$'\n'}
  if [[ $out == *$'\n'* ]]; then printf '%s\n' "${out%$'\n'*}"; fi
  if [[ -z $counts ]]; then
    echo "haproxy $version: 0 passed, 1 failed"
    log "$version: vitest wrote no JSON report; see $cache/$version/vitest.log"
    return 1
  fi
  local passed failed total
  read -r passed failed total <<<"$counts"
  echo "haproxy $version: $passed passed, $failed failed"
  log "$version: $total tests in $((SECONDS - started))s"
  ((failed == 0 && passed > 0))
}

versions=("${wanted[@]}")
if ((${#versions[@]} == 0)); then for entry in "${MATRIX[@]}"; do versions+=("${entry%% *}"); done; fi
for version in "${versions[@]+"${versions[@]}"}"; do
  suite_of "$version" >/dev/null || die "unknown version $version (known: ${MATRIX[*]%% *})"
done
for pair in "${skipped[@]+"${skipped[@]}"}"; do
  suite_of "${pair%%=*}" >/dev/null || die "--skip: unknown version ${pair%%=*} (known: ${MATRIX[*]%% *})"
done

# skip_reason VERSION: the --skip reason given for that version, or nothing.
skip_reason() {
  local pair
  for pair in "${skipped[@]+"${skipped[@]}"}"; do
    [[ ${pair%%=*} == "$1" ]] && { echo "${pair#*=}"; return 0; }
  done
  return 1
}

for version in "${versions[@]+"${versions[@]}"}"; do
  if [[ $(suite_of "$version") == system ]]; then
    reports "$version" /usr/sbin/haproxy || die "/usr/sbin/haproxy is not $version: $(/usr/sbin/haproxy -v 2>&1 | head -n 1)"
  elif ! skip_reason "$version" >/dev/null; then
    build "$version"
  fi
done
$build_only && exit 0

status=0
for version in "${versions[@]+"${versions[@]}"}"; do
  if [[ " ${unavailable[*]+"${unavailable[*]}"} " == *" $version "* ]]; then
    echo "haproxy $version: not built (its Debian sources are not downloadable from the mirror)"
    continue
  fi
  if reason=$(skip_reason "$version"); then
    echo "haproxy $version: not run here ($reason)"
    continue
  fi
  run_version "$version" "$(binary_of "$version")" || status=1
done
for pair in "${extra[@]+"${extra[@]}"}"; do
  run_version "${pair%%=*}" "${pair#*=}" || status=1
done
exit $status
