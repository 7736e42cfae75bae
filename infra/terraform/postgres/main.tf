# The Postgres side of leasehold/postgres: the lease table from sql/postgres.sql (read with file(), not copied) and a
# login role with exactly SELECT, INSERT and UPDATE on it (rows are never deleted: release clears the holder, so
# tokens never go back). Uses the cyrilgdn/postgresql provider, configured as usual (a provider block, or PGHOST,
# PGPORT, PGUSER, PGPASSWORD, PGSSLMODE) with an account that may create tables and roles. Point it at the primary,
# never at a multi-master or writable logical replica (README, "one linearizable home").

terraform {
  required_version = ">= 1.5"
  required_providers {
    postgresql = {
      source  = "cyrilgdn/postgresql"
      version = ">= 1.22"
    }
  }
}

locals {
  # The table sql/postgres.sql creates: the store's default (DEFAULT_POSTGRES_TABLE), checked by test/system/infra.test.ts.
  table = "leasehold_leases"
}

# The same schema `store.migrate()` creates (CREATE TABLE IF NOT EXISTS, so re-running is harmless), in var.schema:
# one command, so that the search_path and the CREATE TABLE run in the same session.
resource "postgresql_script" "schema" {
  database = var.database
  commands = [
    "SET search_path TO \"${var.schema}\";\n${file("${path.module}/../../../sql/postgres.sql")}",
  ]
}

resource "postgresql_role" "app" {
  name     = var.app_role
  login    = true
  password = var.app_password
}

resource "postgresql_grant" "schema_usage" {
  database    = var.database
  role        = postgresql_role.app.name
  schema      = var.schema
  object_type = "schema"
  privileges  = ["USAGE"]
}

# Exactly what the store sends: SELECT (getLeader, the read-back), INSERT … ON CONFLICT DO UPDATE (claims, renewals)
# and UPDATE (releases). No DELETE, TRUNCATE, REFERENCES or TRIGGER.
resource "postgresql_grant" "leases" {
  database    = var.database
  role        = postgresql_role.app.name
  schema      = var.schema
  object_type = "table"
  objects     = [local.table]
  privileges  = ["SELECT", "INSERT", "UPDATE"]

  depends_on = [postgresql_script.schema]
}
