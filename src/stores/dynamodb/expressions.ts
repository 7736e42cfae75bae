/**
 * Building the DynamoDB store's condition and update expressions: `#name` / `:value` placeholders, attribute values,
 * and a failed condition's answer.
 * @module
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** A failed condition: the item as it was then (`ALL_OLD`), if the engine sent it. */
export class Refusal {
  constructor(readonly item: Record<string, AttributeValue> | undefined) {}
}

/** Builds `#name` / `:value` placeholders so only used names are sent (DynamoDB rejects unused ones). */
export class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private readonly placeholders = new Map<string, string>();
  private v = 0;

  name(attribute: string): string {
    let key = this.placeholders.get(attribute);
    if (key === undefined) {
      key = `#a${this.placeholders.size}`;
      this.placeholders.set(attribute, key);
      this.names[key] = attribute;
    }
    return key;
  }

  value(v: AttributeValue): string {
    const key = `:v${this.v++}`;
    this.values[key] = v;
    return key;
  }
}

/** A string attribute value. */
export const S = (s: string): AttributeValue => ({ S: s });
/** A number attribute value. */
export const N = (n: number): AttributeValue => ({ N: String(n) });
