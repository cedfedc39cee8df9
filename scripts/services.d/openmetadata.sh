# OpenMetadata contract server: tests/fixtures/openmetadata/server.py (Python) on 127.0.0.1:18585, serving the
# sample catalog (examples/stub-catalog.json) as OpenMetadata entities at http://127.0.0.1:18585/api, with the
# bearer token in AVB_TEST_OPENMETADATA_TOKEN. It validates every fixture, query and response against
# OpenMetadata's own models: the pydantic models generated from openmetadata-spec's JSON schemas, as published
# on PyPI in `openmetadata-ingestion` (pinned below; only `metadata/generated/**` and the two base-model files
# are used, in a venv with pydantic). Maven Central's `org.open-metadata:openmetadata-spec` is not served by
# this workplace's registry mirror (every version tried: not found), hence the PyPI package.
# Sourced by scripts/services (see the header of oidc.sh for the contract of a service file).
OPENMETADATA_PORT=18585
OPENMETADATA_INGESTION_VERSION=2.0.7.0
OPENMETADATA_TOKEN_VALUE=avb-contract-token.eyJzdWIiOiJhdmItdGVzdCJ9
openmetadata_cache() { echo "$CACHE/openmetadata-$OPENMETADATA_INGESTION_VERSION"; }
openmetadata_dir() { echo "$STATE/openmetadata"; }
openmetadata_pidfile() { echo "$(openmetadata_dir)/openmetadata.pid"; }
openmetadata_install() {
  local dir; dir=$(openmetadata_cache)
  [[ -f $dir/ready ]] && return
  say "installing OpenMetadata's models (openmetadata-ingestion $OPENMETADATA_INGESTION_VERSION, PyPI) into $dir"
  rm -rf "$dir" && mkdir -p "$dir/wheel" "$dir/models"
  python3 -m venv "$dir/venv" || die "python3 -m venv failed"
  "$dir/venv/bin/pip" install -q "pydantic==2.13.4" "email-validator==2.3.0" || die "pip install pydantic failed"
  "$dir/venv/bin/pip" download -q --no-deps -d "$dir/wheel" "openmetadata-ingestion==$OPENMETADATA_INGESTION_VERSION" ||
    die "pip download openmetadata-ingestion==$OPENMETADATA_INGESTION_VERSION failed"
  "$dir/venv/bin/python" - "$dir/wheel"/*.whl "$dir/models" <<'PY' || die "extracting OpenMetadata's models failed"
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
keep = ("metadata/ingestion/models/custom_pydantic.py", "metadata/ingestion/models/custom_basemodel_validation.py")
with zipfile.ZipFile(wheel) as z:
    for n in z.namelist():
        if n.startswith("metadata/generated/") or n in keep:
            z.extract(n, out)
for d in ("metadata", "metadata/ingestion", "metadata/ingestion/models"):
    open(os.path.join(out, d, "__init__.py"), "a").close()
PY
  touch "$dir/ready"
}
openmetadata_ready() { curl -sf "http://127.0.0.1:$OPENMETADATA_PORT/health" >/dev/null; }
openmetadata_start() {
  local dir; dir=$(openmetadata_dir)
  mkdir -p "$dir"
  (cd "$ROOT/tests/fixtures/openmetadata" && exec "$(openmetadata_cache)/venv/bin/python" server.py \
    --port "$OPENMETADATA_PORT" --token "$OPENMETADATA_TOKEN_VALUE" --models "$(openmetadata_cache)/models" \
    --sample "$ROOT/examples/stub-catalog.json" >"$dir/openmetadata.log" 2>&1 & echo $! >"$(openmetadata_pidfile)")
  wait_until openmetadata "$dir/openmetadata.log" openmetadata_ready
}
openmetadata_stop() { kill "$(cat "$(openmetadata_pidfile)")" 2>/dev/null || true; }
openmetadata_env() {
  echo "export AVB_TEST_OPENMETADATA_URL=http://127.0.0.1:$OPENMETADATA_PORT/api"
  echo "export AVB_TEST_OPENMETADATA_TOKEN=$OPENMETADATA_TOKEN_VALUE"
}
openmetadata_addr() { echo "127.0.0.1:$OPENMETADATA_PORT"; }
openmetadata_port() { echo "$OPENMETADATA_PORT"; }
