#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft, combined broker+controller) without Docker.
#
#   scripts/kafka/kafka.sh fetch            resolve the broker jars from Maven Central (once)
#   scripts/kafka/kafka.sh start [PORT]     format storage if new, start, wait until it answers
#   scripts/kafka/kafka.sh stop  [PORT]     stop it and wait until the process is gone
#   scripts/kafka/kafka.sh status [PORT]    exit 0 when a broker answers on PORT
#
# PORT defaults to $KAFKA_PORT or 9092; the controller listens on PORT+1. Each port
# has its own state under .cache/kafka-run/PORT (data, log, pid), so tests can run a
# private broker beside the shared one. start and stop are safe to call twice.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
lib="$root/.cache/kafka/$version/lib"
cmd="${1:-}"
port="${2:-${KAFKA_PORT:-9092}}"
controller_port=$((port + 1))
run="$root/.cache/kafka-run/$port"
pidfile="$run/broker.pid"
log="$run/broker.log"

say() { echo "kafka[$port]: $*" >&2; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# One line naming what is missing and how to get it, instead of "command not found" further down.
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  say "$2 is not installed: the local Kafka broker needs it ($3), or set KAFKA_BROKERS to a broker that runs elsewhere"
  exit 1
}

fetch() {
  if [[ -f "$lib/.complete" ]]; then return 0; fi
  need java "Java (17 or later)" "Debian/Ubuntu: apt-get install openjdk-17-jre-headless; others: https://adoptium.net"
  need mvn "Maven" "Debian/Ubuntu: apt-get install maven; it downloads the broker jars from Maven Central once"
  say "resolving Apache Kafka $version from Maven Central into $lib"
  rm -rf "$lib"
  mkdir -p "$lib"
  # -B and style.color keep colour codes out of logs; jansi.noreset stops the bare
  # reset codes Debian's Maven 3.8 prints even in batch mode.
  MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true" mvn -q -B -Dstyle.color=never -f "$here/pom.xml" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib"
  touch "$lib/.complete"
}

write_config() {
  mkdir -p "$run/data"
  cat >"$run/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$run/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
PROPS
  # KAFKA_BROKER_SETTINGS: extra server.properties lines (tests use it for short offset retention).
  if [[ -n "${KAFKA_BROKER_SETTINGS:-}" ]]; then printf '%s\n' "$KAFKA_BROKER_SETTINGS" >>"$run/server.properties"; fi
  cat >"$run/log4j2.properties" <<PROPS
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=File
appender.file.type=File
appender.file.name=File
appender.file.fileName=$log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
PROPS
}

java_opts() {
  echo "-Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j2.configurationFile=$run/log4j2.properties"
}

start() {
  fetch
  if answers; then
    say "already answering on 127.0.0.1:$port"
    return 0
  fi
  need java "Java (17 or later)" "Debian/Ubuntu: apt-get install openjdk-17-jre-headless; others: https://adoptium.net"
  if ! running_pid >/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$controller_port") 2>/dev/null; then
    say "port $controller_port (this broker's controller, PORT+1) is in use by another program: free it, or use another port in KAFKA_BROKERS"
    exit 1
  fi
  if pid="$(running_pid)"; then
    say "process $pid exists but does not answer yet; waiting"
  else
    write_config
    if [[ ! -f "$run/data/meta.properties" ]]; then
      # shellcheck disable=SC2046
      java $(java_opts) -cp "$lib/*" kafka.tools.StorageTool format \
        -t "$(java -cp "$lib/*" kafka.tools.StorageTool random-uuid)" \
        -c "$run/server.properties" >"$run/format.log" 2>&1 ||
        { say "formatting storage failed, see $run/format.log"; exit 1; }
    fi
    # shellcheck disable=SC2046
    nohup java $(java_opts) -cp "$lib/*" kafka.Kafka "$run/server.properties" \
      >>"$run/stdout.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    say "started process $(cat "$pidfile"), log in $log"
  fi
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  until answers && grep -q 'Kafka Server started' "$log" 2>/dev/null; do
    if ! running_pid >/dev/null; then
      say "broker exited during start-up; last lines of $run/stdout.log and $log:"
      tail -n 20 "$run/stdout.log" "$log" >&2 || true
      exit 1
    fi
    if ((SECONDS > deadline)); then say "did not answer within ${KAFKA_START_TIMEOUT:-90}s"; exit 1; fi
    sleep 0.2
  done
  say "ready on 127.0.0.1:$port"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"
    say "not running"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS > deadline)); then say "still alive after 30s, killing"; kill -KILL "$pid" || true; fi
    sleep 0.1
  done
  rm -f "$pidfile"
  say "stopped"
}

case "$cmd" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) echo "usage: $0 fetch|start|stop|status [PORT]" >&2; exit 2 ;;
esac
