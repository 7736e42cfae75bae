/**
 * `leasehold/postgres`: leases in one Postgres table. Expiry is judged by the server's clock, and every
 * `tryLead()` is exactly one statement (one round trip): on node-postgres a named (prepared) statement; with
 * unnamed statements, a call of the claim function that `migrate()` installs beside the table (PL/pgSQL, so its
 * plans are cached per connection), or the same rule inline where the function is absent. No session state (the
 * one advisory lock, `migrate()`'s, is transaction-scoped): works behind PgBouncer (transaction pooling), RDS Proxy
 * and with serverless drivers.
 * @module
 */
export type { PostgresListenConnection } from './notify.js';
export { DEFAULT_POSTGRES_TABLE, type PostgresQueryable, type PostgresStoreOptions } from './options.js';
export { postgresSchema } from './schema.js';
export { postgresChannel } from './statements.js';
export { PostgresStore } from './store.js';
