CREATE TABLE IF NOT EXISTS "leasehold_leases" (
  name        text PRIMARY KEY,
  holder      text,
  token       bigint NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  version     text NOT NULL,
  data        text
);
