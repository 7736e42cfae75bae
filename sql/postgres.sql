CREATE TABLE IF NOT EXISTS "leasehold_leases" (
  name        text PRIMARY KEY,
  holder      text,
  token       bigint NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  version     text NOT NULL,
  data        text
);

-- leasehold's claim and release, one call each (see src/stores/postgres.ts): PL/pgSQL caches their plans per
-- connection, so even an unprepared call is cheap to plan. Each answers the lease after the attempt as JSON.
DO $install$ BEGIN EXECUTE format($sql$
CREATE OR REPLACE FUNCTION %1$I."leasehold_leases_claim"(p_name text, p_holder text, p_ttl_ms float8, p_version text, p_data text)
RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  ts timestamptz := statement_timestamp();
  r record;
BEGIN
  -- Create, or renew if mine and live (same term), or take over if released or expired (token + 1).
  INSERT INTO %1$I."leasehold_leases" AS t (name, holder, token, acquired_at, expires_at, version, data)
  VALUES (p_name, p_holder, 1, ts, ts + p_ttl_ms * interval '1 millisecond', p_version, p_data)
  ON CONFLICT (name) DO UPDATE SET
    holder = EXCLUDED.holder,
    token = CASE WHEN t.holder = EXCLUDED.holder AND t.expires_at > ts THEN t.token ELSE t.token + 1 END,
    acquired_at = CASE WHEN t.holder = EXCLUDED.holder AND t.expires_at > ts THEN t.acquired_at ELSE EXCLUDED.acquired_at END,
    expires_at = EXCLUDED.expires_at, version = EXCLUDED.version, data = EXCLUDED.data
  WHERE t.holder = EXCLUDED.holder OR t.holder IS NULL OR t.expires_at <= ts
  RETURNING t.holder, t.token, t.acquired_at, t.expires_at, t.version, t.data INTO r;
  IF NOT FOUND THEN
    -- Refused: the row is locked by the upsert, and this statement's fresh snapshot sees its latest version.
    SELECT c.holder, c.token, c.acquired_at, c.expires_at, c.version, c.data INTO r FROM %1$I."leasehold_leases" AS c WHERE c.name = p_name;
    IF NOT FOUND THEN RETURN NULL; END IF;
  END IF;
  RETURN json_build_array(r.holder, r.token, date_part('epoch', r.acquired_at) * 1000, date_part('epoch', r.expires_at) * 1000, r.version, r.data, date_part('epoch', ts) * 1000)::text;
END
$fn$;
CREATE OR REPLACE FUNCTION %1$I."leasehold_leases_release"(p_name text, p_holder text, p_version text, p_expected text)
RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  ts timestamptz := statement_timestamp();
  r record;
BEGIN
  -- Keeps the row and its token; with p_expected, clears only exactly that state (a late release changes nothing newer).
  UPDATE %1$I."leasehold_leases" AS t SET holder = NULL, expires_at = ts, version = p_version, data = NULL
  WHERE t.name = p_name AND t.holder = p_holder AND (p_expected IS NULL OR t.version = p_expected)
  RETURNING t.holder, t.token, t.acquired_at, t.expires_at, t.version, t.data INTO r;
  IF NOT FOUND THEN
    SELECT c.holder, c.token, c.acquired_at, c.expires_at, c.version, c.data INTO r FROM %1$I."leasehold_leases" AS c WHERE c.name = p_name;
    IF NOT FOUND THEN RETURN NULL; END IF;
  END IF;
  RETURN json_build_array(r.holder, r.token, date_part('epoch', r.acquired_at) * 1000, date_part('epoch', r.expires_at) * 1000, r.version, r.data, date_part('epoch', ts) * 1000)::text;
END
$fn$;
$sql$, current_schema()); END $install$;
