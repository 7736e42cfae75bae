/**
 * Which parts of a store URL leasehold knows: the store schemes, the other schemes a message may name, the query
 * parameters whose values are harmless to show (per store), and the usual names of credential parameters. Whatever
 * is not known here is masked (./store-value.ts) and never named.
 * @module
 */

/** The schemes of the stores leasehold opens. */
export const STORE_SCHEMES = new Set(['postgres', 'postgresql', 'redis', 'rediss', 'dynamodb', 'firestore', 'memory']);
/** Other schemes that may be named in a message (a user tried one): naming an arbitrary word could name a secret. */
export const OTHER_SCHEMES = new Set([
  'mysql',
  'mariadb',
  'mongodb',
  'mongodb+srv',
  'valkey',
  'sqlite',
  'sqlserver',
  'mssql',
  'cockroachdb',
  'pg',
  'etcd',
  'consul',
  'http',
  'https',
  'file',
  's3',
  'gs',
]);

/** Parameters whose values are shown, per scheme; every other parameter's value is masked. */
const SHOWN_PARAMS: Record<string, ReadonlySet<string>> = {
  postgres: new Set([
    'table',
    'schema',
    'host',
    'port',
    'user',
    'db',
    'sslmode',
    'ssl',
    'sslcert',
    'sslkey',
    'sslrootcert',
    'sslcrl',
    'sslnegotiation',
    'uselibpqcompat',
    'application_name',
    'fallback_application_name',
    'connect_timeout',
    'client_encoding',
    'encoding',
    'options',
    'keepalives',
    'keepalives_idle',
    'target_session_attrs',
    'replication',
    'statement_timeout',
    'query_timeout',
    'lock_timeout',
    'idle_in_transaction_session_timeout',
  ]),
  redis: new Set(['prefix']),
  dynamodb: new Set(['region']),
  firestore: new Set(),
};

/** Credential parameters by their usual names (compared lower case, without `_` and `-`): named in messages, never shown. */
const CREDENTIAL_PARAMS = new Set([
  'password',
  'passwd',
  'pwd',
  'pass',
  'sslpassword',
  'passfile',
  'secret',
  'secretaccesskey',
  'awssecretaccesskey',
  'accesskeyid',
  'awsaccesskeyid',
  'sessiontoken',
  'awssessiontoken',
  'securitytoken',
  'token',
  'accesstoken',
  'authtoken',
  'idtoken',
  'refreshtoken',
  'apikey',
  'key',
  'privatekey',
  'credentials',
  'auth',
  'signature',
  'sig',
]);

const normalise = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/** Whether a parameter name is a credential's usual name (`password`, `sslpassword`, `secretAccessKey`, `token`, …). */
export function isCredentialParam(key: string): boolean {
  return CREDENTIAL_PARAMS.has(normalise(key));
}

/**
 * A parameter's name for a message: quoted when it is a name leasehold knows (its own parameters, a store's, a
 * credential's usual name), otherwise not shown, since an unknown name may be a piece of a secret (an unencoded `&`
 * inside a password turns what follows into a "parameter").
 */
export function nameParam(key: string): string {
  return KNOWN_PARAMS.has(normalise(key)) ? JSON.stringify(key) : PARAM_NOT_NAMED;
}

/** What {@link nameParam} says of a parameter it does not name. */
export const PARAM_NOT_NAMED = '(name not shown)';

const KNOWN_PARAMS = new Set([...CREDENTIAL_PARAMS, 'endpoint', ...Object.values(SHOWN_PARAMS).flatMap((names) => [...names].map(normalise))]);

/** A DynamoDB endpoint that holds nothing secret: scheme, host and port only. */
const PLAIN_ENDPOINT = /^https?:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?\/?$/;

/** Whether the value of parameter `key` of a `scheme` URL is harmless to show (a DynamoDB endpoint only when plain). */
export function showsParam(scheme: string, key: string, value: string): boolean {
  const family = scheme === 'postgresql' ? 'postgres' : scheme === 'rediss' ? 'redis' : scheme;
  if (family === 'dynamodb' && key === 'endpoint') return PLAIN_ENDPOINT.test(value);
  return SHOWN_PARAMS[family]?.has(key) === true;
}
