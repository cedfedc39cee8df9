# Keycloak 26.7 (Maven Central `org.keycloak:keycloak-quarkus-dist:26.7.3:zip`, fetched with Maven's dependency
# plugin and unpacked into the cache): `kc.sh start-dev` on 127.0.0.1:18180, issuer
# http://127.0.0.1:18180/realms/avb, realm imported from tests/fixtures/keycloak/avb-realm.json at every start.
# Runs on the Temurin 25 JDK (AVB_KEYCLOAK_JAVA_HOME overrides; Keycloak supports Java 25 from 26.6).
# Sourced by scripts/services; see the contract in the header of redis.sh.
#
# Layout: the unpacked distribution stays read-mostly in $CACHE/keycloak-<ver>; each start builds a fresh
# Keycloak home under $STATE/keycloak/home (a copied bin/kc.sh — kc.sh resolves its own path to find its home —
# and symlinks to the distribution's lib, conf, themes, providers) whose data/ (the dev H2 database, the import
# dir, tmp) is deleted first, so every start imports the realm into an empty database.
# The bootstrap admin is a loopback test credential (admin / avb-admin-loopback), exported by `env` for the
# tests' admin REST calls (key rotation, throwaway realms).
KEYCLOAK_PORT=18180
KEYCLOAK_VERSION=26.7.3
KEYCLOAK_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
KEYCLOAK_ADMIN_USER=admin
KEYCLOAK_ADMIN_PASSWORD=avb-admin-loopback
keycloak_java_home() { echo "${AVB_KEYCLOAK_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"; }
keycloak_dist() { echo "$CACHE/keycloak-$KEYCLOAK_VERSION"; }
keycloak_dir() { echo "$STATE/keycloak"; }
keycloak_pidfile() { echo "$(keycloak_dir)/keycloak.pid"; }
keycloak_install() {
  [[ -x $(keycloak_java_home)/bin/java ]] ||
    die "keycloak: no Java 25 at $(keycloak_java_home) (set AVB_KEYCLOAK_JAVA_HOME to a JDK 21+ home)"
  [[ -f $(keycloak_dist)/lib/quarkus-run.jar ]] && return 0
  command -v mvn >/dev/null || apt_install maven
  command -v unzip >/dev/null || apt_install unzip
  local tmp; tmp=$(mktemp -d)
  say "fetching org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip from Maven Central"
  # A throwaway local repository: the 170 MB zip is not kept twice (~/.m2 and the cache), and every install
  # is what a fresh machine does.
  mvn -q -B -Dmaven.repo.local="$tmp/m2" "$KEYCLOAK_DEP_PLUGIN:copy" -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
    -DoutputDirectory="$tmp" >"$tmp/mvn.log" 2>&1 ||
    { tail -n 20 "$tmp/mvn.log" >&2; die "mvn dependency:copy of keycloak-quarkus-dist $KEYCLOAK_VERSION failed"; }
  unzip -q "$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" -d "$tmp/unpacked" || die "keycloak: unzip failed"
  rm -rf "$(keycloak_dist)"
  mv "$tmp/unpacked/keycloak-$KEYCLOAK_VERSION" "$(keycloak_dist)"
  rm -rf "$tmp"
}
keycloak_ready() {
  curl -sf "http://127.0.0.1:$KEYCLOAK_PORT/realms/avb/.well-known/openid-configuration" >/dev/null
}
keycloak_start() {
  local dir home dist; dir=$(keycloak_dir); home=$(keycloak_dir)/home; dist=$(keycloak_dist)
  rm -rf "$home" && mkdir -p "$home/bin" "$home/data/import"
  cp "$dist/bin/kc.sh" "$home/bin/kc.sh"
  local d; for d in lib conf themes providers; do ln -s "$dist/$d" "$home/$d"; done
  cp "$ROOT/tests/fixtures/keycloak/avb-realm.json" "$home/data/import/avb-realm.json"
  # Heap: Keycloak's default cap (512 MB) with a small start; C1 only, which shortens the two JVM launches
  # (build pass + server) of start-dev on a small machine.
  (
    export JAVA_HOME; JAVA_HOME=$(keycloak_java_home)
    export JAVA_OPTS_KC_HEAP="-Xms64m -Xmx512m"
    export JAVA_OPTS_APPEND="-XX:TieredStopAtLevel=1 -XX:CICompilerCount=2"
    export KC_BOOTSTRAP_ADMIN_USERNAME=$KEYCLOAK_ADMIN_USER KC_BOOTSTRAP_ADMIN_PASSWORD=$KEYCLOAK_ADMIN_PASSWORD
    cd "$home" && exec nohup sh bin/kc.sh start-dev --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT" \
      --hostname="http://127.0.0.1:$KEYCLOAK_PORT" --import-realm >"$dir/keycloak.log" 2>&1 </dev/null
  ) &
  echo $! >"$(keycloak_pidfile)"
  # Two JVM launches and a realm import: give it at least 4 minutes on a loaded 2-core machine.
  TIMEOUT=$((TIMEOUT > 240 ? TIMEOUT : 240)) wait_until keycloak "$dir/keycloak.log" keycloak_ready
}
keycloak_stop() { kill "$(cat "$(keycloak_pidfile)")" 2>/dev/null || true; }
keycloak_env() {
  echo "export AVB_TEST_KEYCLOAK_URL=http://127.0.0.1:$KEYCLOAK_PORT/realms/avb"
  echo "export AVB_TEST_KEYCLOAK_ADMIN=$KEYCLOAK_ADMIN_USER:$KEYCLOAK_ADMIN_PASSWORD"
}
keycloak_addr() { echo "127.0.0.1:$KEYCLOAK_PORT"; }
keycloak_port() { echo "$KEYCLOAK_PORT"; }
