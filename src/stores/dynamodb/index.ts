/**
 * `leasehold/dynamodb`: leases in a DynamoDB table, one item per election name. DynamoDB has no server
 * clock in conditions, so expiry is judged by the caller's clock with the `maxClockSkewMs` bound
 * (README safety: "Whose clock"). A claim from nothing, a takeover of an expired or released lease, a renewal and a
 * refused claim are each one `UpdateItem` (see {@link DynamoDBStore.claim}); the store calls only
 * `UpdateItem` and `GetItem`.
 * @module
 */
export {
  DEFAULT_DYNAMODB_ATTRIBUTES,
  DEFAULT_TTL_RETENTION_MS,
  type DynamoDBAttributeNames,
  type DynamoDBStoreOptions,
} from './options.js';
export { DynamoDBStore } from './store.js';
