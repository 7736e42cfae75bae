/**
 * The DynamoDB store's item mapping: a lease item's attributes read back into a lease record.
 * @module
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { LeaseholdError } from '../../errors.js';
import type { LeaseRecord } from '../../store.js';
import type { DynamoDBLayout } from './options.js';

/** The lease an item holds (`null` for no item); `STORE_CORRUPT` when an attribute is missing or of another type. */
export function toRecord(layout: DynamoDBLayout, name: string, item: Record<string, AttributeValue> | undefined): LeaseRecord | null {
  if (item === undefined || Object.keys(item).length === 0) return null;
  const a = layout.attr;
  const num = (attribute: string, optional = false): number | undefined => {
    const v = item[attribute];
    if (v === undefined && optional) return undefined;
    const n = v && 'N' in v && typeof v.N === 'string' ? Number(v.N) : Number.NaN;
    if (!Number.isFinite(n)) {
      throw new LeaseholdError(
        'STORE_CORRUPT',
        `dynamodb store: item ${JSON.stringify(`${layout.keyPrefix}${name}`)} in ${layout.table} has no number in attribute ${JSON.stringify(attribute)} (a foreign writer, or attribute names that differ from the store's options)`,
      );
    }
    return n;
  };
  const str = (attribute: string): string | null => {
    const v = item[attribute];
    return v && 'S' in v && typeof v.S === 'string' ? v.S : null;
  };
  const version = str(a.version);
  if (version === null) {
    throw new LeaseholdError(
      'STORE_CORRUPT',
      `dynamodb store: item ${JSON.stringify(`${layout.keyPrefix}${name}`)} in ${layout.table} has no string attribute ${JSON.stringify(a.version)}`,
    );
  }
  const expiresAt = num(a.expiresAt) as number;
  return {
    name,
    holder: str(a.holder),
    token: num(a.token) as number,
    // Absent while released (so the next claim stamps its own); report the release time then.
    acquiredAt: num(a.acquiredAt, true) ?? expiresAt,
    expiresAt,
    version,
    data: str(a.data),
  };
}
