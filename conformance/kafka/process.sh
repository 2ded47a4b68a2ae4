# Process handling shared by kafka.sh and tansu.sh (sourced, not run): a broker runs in its own
# process group (setsid) and its pid is kept in DIR/pid.

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# True if the broker whose pid DIR/pid names is alive.
running_in() {
  [[ -f "$1/pid" ]] && kill -0 "$(cat "$1/pid")" 2> /dev/null
}

# Stops the broker of DIR: SIGTERM to its process group, up to GRACE_TENTHS tenths of a second to end,
# then SIGKILL. Nothing to do when none runs there.
stop_process_group() {
  local dir="$1" grace_tenths="$2" pid waited=0
  [[ -f "$dir/pid" ]] || return 0
  pid="$(cat "$dir/pid")"
  if kill -0 "$pid" 2> /dev/null; then
    kill -TERM -- "-$pid" 2> /dev/null || kill -TERM "$pid" 2> /dev/null || true
    while kill -0 "$pid" 2> /dev/null && ((waited < grace_tenths)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -KILL -- "-$pid" 2> /dev/null || kill -KILL "$pid" 2> /dev/null || true
  fi
  rm -f "$dir/pid"
}
