# Apache Kafka 4.1 (Maven Central `org.apache.kafka:kafka_2.13`, its runtime jars copied into the cache by
# Maven's dependency plugin): one combined KRaft node (broker + controller) for the Kafka event bus,
# PLAINTEXT on 127.0.0.1:19092, controller listener 127.0.0.1:19093. Data under $STATE/kafka/data (formatted
# once; a restart keeps it). Topics are never auto-created: the backend creates them through the admin client.
# Sourced by scripts/services; see the contract in the header of redis.sh.
#
# Install: scripts/services.d/kafka/pom.xml names the broker and a log4j2 binding (the broker logs through
# slf4j 1.7, so the binding is log4j-slf4j-impl); `mvn dependency:copy-dependencies` puts the jars in
# $CACHE/kafka-<ver>/libs. Maven's local repository lives under the cache too ($CACHE/maven), so an empty
# cache measures the whole download. Runs on the machine's default JDK (17 is enough for Kafka 4).
# Ready when a Metadata request on the PLAINTEXT port answers with this broker and a controller
# (scripts/services.d/kafka/probe.py), not merely when the port opens.
KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
KAFKA_VERSION=4.1.2
KAFKA_LOG4J_VERSION=2.24.3
KAFKA_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.11.0
# A non-avb client for the interop test (tests/fixtures/kafka/interop.py): PyPI kafka-python, pure Python.
KAFKA_PYTHON_VERSION=3.0.12
# A fixed cluster id (a base64url UUID): a data dir formatted once keeps matching it across restarts.
KAFKA_CLUSTER_ID=YXZiLWthZmthLXRlc3QtMQ
kafka_home() { echo "$CACHE/kafka-$KAFKA_VERSION"; }
kafka_dir() { echo "$STATE/kafka"; }
kafka_pidfile() { echo "$(kafka_dir)/kafka.pid"; }
kafka_python_venv() { echo "$CACHE/kafka-python-$KAFKA_PYTHON_VERSION"; }
kafka_java() { if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then echo "$JAVA_HOME/bin/java"; else command -v java; fi; }
kafka_install() {
  command -v java >/dev/null || apt_install default-jre-headless
  command -v python3 >/dev/null || apt_install python3
  if [[ ! -x $(kafka_python_venv)/bin/python ]]; then
    say "installing kafka-python $KAFKA_PYTHON_VERSION into $(kafka_python_venv)"
    { python3 -m venv "$(kafka_python_venv)" && "$(kafka_python_venv)/bin/pip" install -q "kafka-python==$KAFKA_PYTHON_VERSION"; } >&2 ||
      { rm -rf "$(kafka_python_venv)"; die "pip install kafka-python==$KAFKA_PYTHON_VERSION failed"; }
  fi
  [[ -f $(kafka_home)/libs/kafka_2.13-$KAFKA_VERSION.jar ]] && return 0
  command -v mvn >/dev/null || apt_install maven
  local tmp; tmp=$(mktemp -d)
  say "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies from Maven Central"
  mvn -q -B -Dmaven.repo.local="$CACHE/maven" -f "$ROOT/scripts/services.d/kafka/pom.xml" \
    -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$KAFKA_LOG4J_VERSION" \
    "$KAFKA_DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
    >"$tmp/mvn.log" 2>&1 ||
    { tail -n 20 "$tmp/mvn.log" >&2; die "mvn dependency:copy-dependencies of kafka_2.13 $KAFKA_VERSION failed"; }
  rm -rf "$(kafka_home)"
  mkdir -p "$(kafka_home)"
  mv "$tmp/libs" "$(kafka_home)/libs"
  rm -rf "$tmp"
}
kafka_write_config() {
  local dir; dir=$(kafka_dir)
  cat >"$dir/server.properties" <<PROPS
# Written by scripts/services.d/kafka.sh at every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  # Warnings and up, plus the broker's "started" line; to the console, which nohup sends to kafka.log.
  cat >"$dir/log4j2.properties" <<PROPS
appender.console.type=Console
appender.console.name=STDOUT
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
logger.server.name=kafka.server.KafkaRaftServer
logger.server.level=INFO
PROPS
}
kafka_ready() { python3 "$ROOT/scripts/services.d/kafka/probe.py" "127.0.0.1:$KAFKA_PORT"; }
kafka_start() {
  local dir java; dir=$(kafka_dir); java=$(kafka_java)
  mkdir -p "$dir/data"
  kafka_write_config
  # -g: a data dir already formatted (a restart) is left as it is.
  "$java" -cp "$(kafka_home)/libs/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    kafka.tools.StorageTool format -t "$KAFKA_CLUSTER_ID" -c "$dir/server.properties" -g \
    >"$dir/format.log" 2>&1 || { tail -n 20 "$dir/format.log" >&2; return 1; }
  nohup "$java" -Xms128m -Xmx512m -Djava.awt.headless=true -cp "$(kafka_home)/libs/*" \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" kafka.Kafka "$dir/server.properties" \
    >"$dir/kafka.log" 2>&1 </dev/null &
  echo $! >"$(kafka_pidfile)"
  TIMEOUT=$((TIMEOUT > 120 ? TIMEOUT : 120)) wait_until kafka "$dir/kafka.log" kafka_ready
}
kafka_stop() { kill "$(cat "$(kafka_pidfile)")" 2>/dev/null || true; }
kafka_env() {
  echo "export AVB_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT"
  echo "export AVB_TEST_KAFKA_PYTHON=$(kafka_python_venv)/bin/python"
  echo "export AVB_TEST_KAFKA_JAVA=$(kafka_java || echo java)"
  echo "export AVB_TEST_KAFKA_LIBS=$(kafka_home)/libs"
}
kafka_addr() { echo "127.0.0.1:$KAFKA_PORT"; }
kafka_port() { echo "$KAFKA_PORT"; }
