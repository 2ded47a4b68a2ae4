#!/usr/bin/env bash
# Apache Kafka for the wire-target conformance suite: download it from Maven Central, format a
# single-node KRaft cluster, start it on 127.0.0.1 with a free port in one of the three transaction
# configurations the model knows, wait until it serves, stop it.
#
#   kafka.sh fetch                  download the broker's jars (once) into the cache directory
#   kafka.sh start CONFIG DIR       format DIR and start a broker; prints kafka://127.0.0.1:PORT
#   kafka.sh stop DIR               stop the broker started in DIR (SIGTERM, SIGKILL after 30 s)
#   kafka.sh restart DIR            stop it and start it again on the same port and data
#   kafka.sh url DIR                print the broker's kafka:// URL
#
# CONFIG is one of
#   tv2            transaction.version=2 (KIP-890 part 2; Kafka's default on new clusters)
#   tv1-verified   transaction.version=1 with transaction.partition.verification.enable=true (KIP-890 part 1)
#   tv1            transaction.version=1 with verification off (the classic protocol)
#
# Environment: EOS_KAFKA_CACHE (default: target/kafka/<version> in this repository) holds the jars;
# EOS_KAFKA_JVM_OPTS (default: a 512 MiB heap, serial GC) is passed to the JVM; JAVA (default: java).
# The broker logs to DIR/server.log. Nothing is left running by `stop`; jars are never committed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
cache="${EOS_KAFKA_CACHE:-$repo/target/kafka/$version}"
lib="$cache/lib"
java="${JAVA:-java}"
jvm_opts="${EOS_KAFKA_JVM_OPTS:--Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
start_deadline_s=120

die() { echo "kafka.sh: $*" >&2; exit 2; }
# shellcheck source=process.sh
source "$here/process.sh"

fetch() {
  [[ -f "$lib/.complete" ]] && return 0
  command -v mvn > /dev/null || die "Maven (mvn) is needed to download Apache Kafka $version from Maven Central"
  command -v "$java" > /dev/null || die "Java 17 or newer is needed to run Apache Kafka"
  echo "kafka.sh: downloading Apache Kafka $version and its dependencies into $lib" >&2
  rm -rf "$lib.tmp"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib.tmp" >&2 \
    || die "mvn could not download Apache Kafka $version (is Maven Central reachable?)"
  ls "$lib.tmp"/kafka_2.13-"$version".jar > /dev/null || die "the download holds no kafka_2.13-$version.jar"
  rm -rf "$lib"
  mv "$lib.tmp" "$lib"
  touch "$lib/.complete"
}

# server.properties for CONFIG, listening on PORT (clients) and CONTROLLER_PORT (KRaft).
write_config() {
  local config="$1" dir="$2" port="$3" controller_port="$4" verification
  case "$config" in
    tv2 | tv1-verified) verification=true ;;
    tv1) verification=false ;;
    *) die "unknown configuration '$config' (expected tv2, tv1-verified or tv1)" ;;
  esac
  cat > "$dir/server.properties" <<EOF
# Written by conformance/kafka/kafka.sh: configuration $config.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.network.threads=2
num.io.threads=4
num.partitions=1
auto.create.topics.enable=false
# One replica of everything, few internal partitions: a single node that starts fast.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# The harness realises a transaction timeout with a short transaction.timeout.ms and waits for the
# coordinator's abort check, which runs this often.
transaction.abort.timed.out.transaction.cleanup.interval.ms=100
# KIP-890 part 1: on for tv2 and tv1-verified, off for tv1.
transaction.partition.verification.enable=$verification
EOF
  echo "$config" > "$dir/configuration"
  echo "$port" > "$dir/port"
  cat > "$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
EOF
}

format() {
  local config="$1" dir="$2" level cluster_id
  case "$config" in
    tv2) level=2 ;;
    *) level=1 ;;
  esac
  # A random id may begin with '-': passed as --cluster-id=ID so that it is not taken for an option.
  cluster_id="$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
  # shellcheck disable=SC2086
  "$java" $jvm_opts -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$lib/*" kafka.tools.StorageTool \
    format --cluster-id="$cluster_id" -c "$dir/server.properties" --feature "transaction.version=$level" \
    > "$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; die "formatting the KRaft storage in $dir failed"; }
}

launch() {
  local dir="$1" port
  port="$(cat "$dir/port")"
  : > "$dir/server.log"
  # setsid: the broker gets its own process group, so `stop` reaches the JVM and nothing else.
  # shellcheck disable=SC2086
  setsid "$java" $jvm_opts -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$lib/*" \
    kafka.Kafka "$dir/server.properties" > "$dir/stdout.log" 2>&1 < /dev/null &
  echo $! > "$dir/pid"
  local waited=0
  until grep -q "Kafka Server started" "$dir/server.log" 2> /dev/null && (: > "/dev/tcp/127.0.0.1/$port") 2> /dev/null; do
    if ! kill -0 "$(cat "$dir/pid")" 2> /dev/null; then
      tail -30 "$dir/server.log" "$dir/stdout.log" >&2 || true
      die "the broker in $dir exited during start-up (see $dir/server.log)"
    fi
    if ((waited >= start_deadline_s * 10)); then
      stop "$dir"
      die "the broker in $dir did not start within $start_deadline_s s (see $dir/server.log)"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "kafka://127.0.0.1:$port"
}

start() {
  local config="$1" dir="$2"
  fetch
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  running_in "$dir" && die "a broker is already running in $dir"
  rm -rf "$dir/data"
  write_config "$config" "$dir" "$(free_port)" "$(free_port)"
  format "$config" "$dir"
  launch "$dir"
}

stop() { stop_process_group "$1" 300; }

case "${1:-}" in
  fetch) fetch ;;
  start) [[ $# -eq 3 ]] || die "usage: kafka.sh start tv2|tv1-verified|tv1 DIR"; start "$2" "$3" ;;
  stop) [[ $# -eq 2 ]] || die "usage: kafka.sh stop DIR"; stop "$2" ;;
  restart)
    [[ $# -eq 2 && -f "$2/server.properties" ]] || die "usage: kafka.sh restart DIR (a directory kafka.sh start used)"
    stop "$2"
    launch "$(cd "$2" && pwd)"
    ;;
  url) [[ $# -eq 2 && -f "$2/port" ]] || die "usage: kafka.sh url DIR"; echo "kafka://127.0.0.1:$(cat "$2/port")" ;;
  *) die "usage: kafka.sh fetch | start CONFIG DIR | stop DIR | restart DIR | url DIR" ;;
esac
