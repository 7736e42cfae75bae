-- leasehold's lease table and its claim and release functions (see postgresSchema() in src/stores/postgres.ts).
-- Safe to run again and concurrently: installs wait for one another, and one that finds this version installed
-- changes nothing.
DO $install$
DECLARE
  s text := current_schema();
  v text := 'leasehold schema f6173cb2806ad724';
BEGIN
  IF s IS NULL THEN
    RAISE EXCEPTION 'no schema has been selected to create in' USING ERRCODE = 'invalid_schema_name';
  END IF;
  -- Concurrent installs (cold starts at once) would race on the catalog ("tuple concurrently updated", a duplicate
  -- key in pg_type): they queue here instead. Held until this statement's transaction ends, so the next one sees
  -- everything this one installed. Transaction-scoped: fine behind PgBouncer in transaction mode.
  PERFORM pg_advisory_xact_lock(7810756276994469740);
  IF to_regclass(format('%I.%I', s, 'leasehold_leases')) IS NOT NULL
    AND strpos((SELECT prosrc FROM pg_catalog.pg_proc WHERE oid = to_regprocedure(format('%1$I."leasehold_leases_claim"(text, text, float8, text, text, text)', s))), v) > 0
    AND strpos((SELECT prosrc FROM pg_catalog.pg_proc WHERE oid = to_regprocedure(format('%1$I."leasehold_leases_release"(text, text, text, text)', s))), v) > 0 THEN
    RETURN;
  END IF;
  CREATE TABLE IF NOT EXISTS "leasehold_leases" (
    name        text PRIMARY KEY,
    holder      text,
    token       bigint NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    version     text NOT NULL,
    data        text
  );
  -- The claim and release, one call each (see src/stores/postgres.ts): PL/pgSQL caches their plans per connection,
  -- so even an unprepared call is cheap to plan. Each answers the lease after the attempt as JSON (built in the
  -- statement itself), or NULL when there is none. statement_timestamp() is the same throughout one call.
  EXECUTE format($sql$
DROP FUNCTION IF EXISTS %1$I."leasehold_leases_claim"(text, text, float8, text, text, boolean);
CREATE OR REPLACE FUNCTION %1$I."leasehold_leases_claim"(p_name text, p_holder text, p_ttl_ms float8, p_version text, p_data text, p_expected text)
RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
-- leasehold schema f6173cb2806ad724: what a later install looks for to find this version installed.
DECLARE
  result text;
BEGIN
  IF p_expected IS NOT NULL THEN
    -- The caller last won this lease, at version p_expected: a plain conditional update of exactly that state (a
    -- renewal, or a new term if it lapsed meanwhile). No row: the lease changed since, and the claim below decides.
    -- Answered as the inline renewal is: "<token> <server clock ms>", all the caller does not know already.
    UPDATE %1$I."leasehold_leases" AS t SET
      token = CASE WHEN t.expires_at > statement_timestamp() THEN t.token ELSE t.token + 1 END,
      acquired_at = CASE WHEN t.expires_at > statement_timestamp() THEN t.acquired_at ELSE statement_timestamp() END,
      expires_at = statement_timestamp() + p_ttl_ms::float8 * interval '1 millisecond', version = p_version, data = p_data
    WHERE t.name = p_name AND t.holder = p_holder AND t.version = p_expected
    RETURNING t.token || ' ' || date_part('epoch', statement_timestamp()) * 1000 INTO result;
    IF result IS NOT NULL THEN
      RETURN result;
    END IF;
  END IF;
  -- Refused by another holder's live lease: answered by this read alone (no attempt, so no row lock).
  SELECT json_build_array(c.holder, c.token, date_part('epoch', c.acquired_at) * 1000, date_part('epoch', c.expires_at) * 1000, c.version, c.data, date_part('epoch', statement_timestamp()) * 1000)::text INTO result FROM %1$I."leasehold_leases" AS c WHERE c.name = p_name AND c.holder <> p_holder AND c.expires_at > statement_timestamp();
  IF result IS NOT NULL THEN
    RETURN result;
  END IF;
  -- Create, or renew if mine and live (same term), or take over if released or expired (token + 1).
  INSERT INTO %1$I."leasehold_leases" AS t (name, holder, token, acquired_at, expires_at, version, data)
    VALUES (p_name, p_holder, 1, statement_timestamp(), statement_timestamp() + p_ttl_ms * interval '1 millisecond', p_version, p_data)
    ON CONFLICT (name) DO UPDATE SET
      holder = EXCLUDED.holder,
      token = CASE WHEN t.holder = EXCLUDED.holder AND t.expires_at > statement_timestamp() THEN t.token ELSE t.token + 1 END,
      acquired_at = CASE WHEN t.holder = EXCLUDED.holder AND t.expires_at > statement_timestamp() THEN t.acquired_at ELSE EXCLUDED.acquired_at END,
      expires_at = EXCLUDED.expires_at, version = EXCLUDED.version, data = EXCLUDED.data
    WHERE t.holder = EXCLUDED.holder OR t.holder IS NULL OR t.expires_at <= statement_timestamp()
  RETURNING json_build_array(t.holder, t.token, date_part('epoch', t.acquired_at) * 1000, date_part('epoch', t.expires_at) * 1000, t.version, t.data, date_part('epoch', statement_timestamp()) * 1000)::text INTO result;
  IF result IS NULL THEN
    -- Refused by a write that committed meanwhile: this statement's fresh snapshot sees it (under the upsert's lock).
    SELECT json_build_array(c.holder, c.token, date_part('epoch', c.acquired_at) * 1000, date_part('epoch', c.expires_at) * 1000, c.version, c.data, date_part('epoch', statement_timestamp()) * 1000)::text INTO result FROM %1$I."leasehold_leases" AS c WHERE c.name = p_name;
  END IF;
  RETURN result;
END
$fn$;
CREATE OR REPLACE FUNCTION %1$I."leasehold_leases_release"(p_name text, p_holder text, p_version text, p_expected text)
RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
-- leasehold schema f6173cb2806ad724: what a later install looks for to find this version installed.
DECLARE
  result text;
BEGIN
  -- Keeps the row and its token; with p_expected, clears only exactly that state (a late release changes nothing newer).
  UPDATE %1$I."leasehold_leases" AS t SET holder = NULL, expires_at = statement_timestamp(), version = p_version, data = NULL
  WHERE t.name = p_name AND t.holder = p_holder AND (p_expected IS NULL OR t.version = p_expected)
  RETURNING json_build_array(t.holder, t.token, date_part('epoch', t.acquired_at) * 1000, date_part('epoch', t.expires_at) * 1000, t.version, t.data, date_part('epoch', statement_timestamp()) * 1000)::text INTO result;
  IF result IS NULL THEN
    SELECT json_build_array(c.holder, c.token, date_part('epoch', c.acquired_at) * 1000, date_part('epoch', c.expires_at) * 1000, c.version, c.data, date_part('epoch', statement_timestamp()) * 1000)::text INTO result FROM %1$I."leasehold_leases" AS c WHERE c.name = p_name;
  ELSE
    -- Followers that LISTEN claim at once (delivered at commit; nobody listening costs nothing).
    PERFORM pg_notify('leasehold_ce0f6ea037487ea6', p_name);
  END IF;
  RETURN result;
END
$fn$;
$sql$, s);
END $install$;
