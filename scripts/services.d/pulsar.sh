# Apache Pulsar 4.0 (Maven Central `org.apache.pulsar:pulsar-broker`, its runtime jars copied into the cache by
# Maven's dependency plugin): one standalone node (broker + in-process bookie + RocksDB metadata, no
# ZooKeeper, no functions worker, no stream storage) for the Pulsar event bus. Binary protocol on
# 127.0.0.1:16650, admin REST on 127.0.0.1:16680, bookie on 127.0.0.1:16681. Data under $STATE/pulsar
# (a restart keeps it). Sourced by scripts/services; see the contract in the header of redis.sh.
#
# Install: scripts/services.d/pulsar/pom.xml names the broker and a log4j2 binding for its slf4j 2
# (log4j-slf4j2-impl); `mvn dependency:copy-dependencies` puts the jars in $CACHE/pulsar-<ver>/libs, with
# Maven's local repository under the cache ($CACHE/maven), so an empty cache measures the whole download.
# 4.0.8 does not resolve from Maven Central (its org.apache.pulsar:jetcd-core-shaded:4.0.8 is not there), so
# this is 4.0.7, the newest 4.0.x (LTS) that does. Runs on the machine's default JDK (17).
# Also installs Debian `protobuf-compiler`: building the backend (the `pulsar` crate's prost-build) needs protoc.
# Ready when the admin REST API lists the namespaces of tenant `public` (with `public/default`, which the
# standalone creates) and the binary port accepts a connection.
PULSAR_PORT=16650
PULSAR_WEB_PORT=16680
PULSAR_BOOKIE_PORT=16681
PULSAR_VERSION=4.0.7
PULSAR_LOG4J_VERSION=2.24.3
PULSAR_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.11.0
# A non-avb client for the interop test (tests/fixtures/pulsar/interop.py): PyPI pulsar-client (the Apache
# Pulsar C++ client's Python wheel).
PULSAR_PYTHON_CLIENT_VERSION=3.13.0
pulsar_home() { echo "$CACHE/pulsar-$PULSAR_VERSION"; }
pulsar_dir() { echo "$STATE/pulsar"; }
pulsar_pidfile() { echo "$(pulsar_dir)/pulsar.pid"; }
pulsar_python_venv() { echo "$CACHE/pulsar-client-$PULSAR_PYTHON_CLIENT_VERSION"; }
pulsar_java() { if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then echo "$JAVA_HOME/bin/java"; else command -v java; fi; }
pulsar_install() {
  command -v java >/dev/null || apt_install default-jre-headless
  command -v python3 >/dev/null || apt_install python3
  command -v curl >/dev/null || apt_install curl
  # Not the server's: the `pulsar` crate's build (prost-build) needs protoc, and scripts/test brings the
  # servers up before it builds, so the plugin of the backend that needs it installs it.
  command -v protoc >/dev/null || apt_install protobuf-compiler
  if [[ ! -x $(pulsar_python_venv)/bin/python ]]; then
    say "installing pulsar-client $PULSAR_PYTHON_CLIENT_VERSION into $(pulsar_python_venv)"
    { python3 -m venv "$(pulsar_python_venv)" &&
      "$(pulsar_python_venv)/bin/pip" install -q "pulsar-client==$PULSAR_PYTHON_CLIENT_VERSION"; } >&2 ||
      { rm -rf "$(pulsar_python_venv)"; die "pip install pulsar-client==$PULSAR_PYTHON_CLIENT_VERSION failed"; }
  fi
  [[ -f $(pulsar_home)/libs/pulsar-broker-$PULSAR_VERSION.jar ]] && return 0
  command -v mvn >/dev/null || apt_install maven
  local tmp; tmp=$(mktemp -d)
  say "fetching org.apache.pulsar:pulsar-broker:$PULSAR_VERSION and its dependencies from Maven Central"
  mvn -q -B -Dmaven.repo.local="$CACHE/maven" -f "$ROOT/scripts/services.d/pulsar/pom.xml" \
    -Dpulsar.version="$PULSAR_VERSION" -Dlog4j.version="$PULSAR_LOG4J_VERSION" \
    "$PULSAR_DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
    >"$tmp/mvn.log" 2>&1 ||
    { tail -n 20 "$tmp/mvn.log" >&2; die "mvn dependency:copy-dependencies of pulsar-broker $PULSAR_VERSION failed"; }
  rm -rf "$(pulsar_home)"
  mkdir -p "$(pulsar_home)"
  mv "$tmp/libs" "$(pulsar_home)/libs"
  rm -rf "$tmp"
}
pulsar_write_config() {
  local dir; dir=$(pulsar_dir)
  # Our own minimal standalone.conf (the distribution's is not on Maven Central); everything not named
  # here keeps the broker's default (ServiceConfiguration).
  cat >"$dir/standalone.conf" <<PROPS
# Written by scripts/services.d/pulsar.sh at every start.
clusterName=standalone
bindAddress=127.0.0.1
advertisedAddress=127.0.0.1
brokerServicePort=$PULSAR_PORT
webServicePort=$PULSAR_WEB_PORT
managedLedgerDefaultEnsembleSize=1
managedLedgerDefaultWriteQuorum=1
managedLedgerDefaultAckQuorum=1
loadManagerClassName=org.apache.pulsar.broker.loadbalance.NoopLoadManager
# The in-process bookie reads this file too: its port is taken from --bookkeeper-port only when ephemeral
# ports are allowed (else the standalone picks a free one), and it binds 0.0.0.0 unless given an interface.
journalSyncData=false
allowEphemeralPorts=true
listeningInterface=lo
allowLoopback=true
allowAutoTopicCreation=true
allowAutoTopicCreationType=non-partitioned
# Delayed delivery (the event bus's nack delay and backoff) checked every 10 ms, not every second.
delayedDeliveryEnabled=true
delayedDeliveryTickTimeMillis=10
# Broker-side deduplication is a per-namespace policy; off unless a namespace turns it on.
brokerDeduplicationEnabled=false
# Small caches: a test broker on a shared machine.
managedLedgerCacheSizeMB=64
dbStorage_writeCacheMaxSizeMb=32
dbStorage_readAheadCacheMaxSizeMb=32
dbStorage_rocksDB_blockCacheSize=16777216
bookkeeperClientTimeoutInSeconds=30
# The in-process bookie turns read-only once its disk is diskUsageThreshold full — 0.95 by default — and the
# broker then refuses every new producer, subscription and ledger ("BrokerPersistenceError: Not enough
# non-faulty bookies available"), which clients retry until they time out. A test machine's disk gets there
# while cargo builds beside the servers: a CI run failed so (every Pulsar test timed out), and a broker with
# its data on a 97 %-full filesystem reproduced it (docs/services.md). A test broker writes until 99 % (the
# validator wants a value below 1); `scripts/services diagnose` shows the bookie's disk errors.
diskUsageThreshold=0.99
diskUsageWarnThreshold=0.99
diskUsageLwmThreshold=0.98
# No metrics/stats endpoints beyond the web port; no functions, no transactions.
functionsWorkerEnabled=false
transactionCoordinatorEnabled=false
exposeTopicLevelMetricsInPrometheus=false
PROPS
  cat >"$dir/log4j2.properties" <<PROPS
appender.console.type=Console
appender.console.name=STDOUT
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=[%d] %p %m (%c{1})%n
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
logger.standalone.name=org.apache.pulsar.PulsarStandalone
logger.standalone.level=INFO
PROPS
}
pulsar_ready() {
  curl -fsS -m 2 "http://127.0.0.1:$PULSAR_WEB_PORT/admin/v2/namespaces/public" | grep -q '"public/default"' &&
    port_busy "$PULSAR_PORT"
}
pulsar_start() {
  local dir java; dir=$(pulsar_dir); java=$(pulsar_java)
  mkdir -p "$dir/bookkeeper" "$dir/metadata"
  pulsar_write_config
  # The --add-opens flags are those of Pulsar's bin/pulsar (Netty, the CRC32C checksum, RocksDB's metrics).
  # Run from $dir: the standalone resolves relative paths (data/standalone/...) against its working dir.
  (cd "$dir" || exit 1
    nohup "$java" -Xms128m -Xmx1g -XX:MaxDirectMemorySize=512m -Djava.net.preferIPv4Stack=true \
    -Djava.awt.headless=true -Dio.netty.tryReflectionSetAccessible=true \
    --add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/java.util.zip=ALL-UNNAMED \
    --add-opens java.base/sun.net=ALL-UNNAMED --add-opens java.management/sun.management=ALL-UNNAMED \
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED \
    --add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/jdk.internal.misc=ALL-UNNAMED \
    --add-opens java.base/java.lang=ALL-UNNAMED \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -Dpulsar.allocator.exit_on_oom=true \
    -cp "$(pulsar_home)/libs/*" org.apache.pulsar.PulsarStandaloneStarter \
    --config "$dir/standalone.conf" -nfw -nss \
    --bookkeeper-port "$PULSAR_BOOKIE_PORT" --bookkeeper-dir "$dir/bookkeeper" \
    --metadata-dir "$dir/metadata" \
    >"$dir/pulsar.log" 2>&1 </dev/null &
    echo $! >"$(pulsar_pidfile)")
  TIMEOUT=$((TIMEOUT > 180 ? TIMEOUT : 180)) wait_until pulsar "$dir/pulsar.log" pulsar_ready
}
pulsar_stop() { kill "$(cat "$(pulsar_pidfile)")" 2>/dev/null || true; }
pulsar_env() {
  echo "export AVB_TEST_PULSAR_URL=pulsar://127.0.0.1:$PULSAR_PORT"
  echo "export AVB_TEST_PULSAR_ADMIN_URL=http://127.0.0.1:$PULSAR_WEB_PORT"
  echo "export AVB_TEST_PULSAR_PYTHON=$(pulsar_python_venv)/bin/python"
  echo "export AVB_TEST_PULSAR_JAVA=$(pulsar_java || echo java)"
  echo "export AVB_TEST_PULSAR_LIBS=$(pulsar_home)/libs"
}
pulsar_addr() { echo "127.0.0.1:$PULSAR_PORT"; }
pulsar_port() { echo "$PULSAR_PORT"; }
