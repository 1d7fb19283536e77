/**
 * Token revocation by `jti`.
 *
 * Cognito's own revocation (RevokeToken) does not make an access token's signature invalid, so
 * the SMART façade's `/auth/revoke` records the token's `jti` here, and its `origin_jti` (the
 * sign-in: every token refreshed from the same refresh token), and the SMART authorizer refuses
 * any token whose `jti` or `origin_jti` is recorded.
 *
 * An entry only needs to live until no token it names can be valid any more, and the caller
 * says when that is: for a `jti`, the token's own `exp`; for an `origin_jti`, much later (the
 * app client's refresh-token validity after the sign-in, plus an access-token lifetime: see
 * `originRevocationExpiry` in the façade), because tokens of that sign-in can still be minted
 * long after the revoked one expired. Recording an id again never shortens its entry: the
 * later expiry wins.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';

export interface RevocationStore {
  /** True when `jti` has been revoked and the revocation has not yet expired. Throws on store errors. */
  isRevoked(jti: string): Promise<boolean>;
  /**
   * Records `jti` (a token's `jti` or a sign-in's `origin_jti`) as revoked until
   * `expiresAtEpochSeconds`, or until an existing entry's later expiry: never shortens an entry.
   * Idempotent. Throws on store errors.
   */
  revoke(jti: string, expiresAtEpochSeconds: number): Promise<void>;
}

/** Seconds since the epoch; injectable so tests can move time. */
export type EpochClock = () => number;

const systemClock: EpochClock = () => Date.now() / 1000;

function assertJti(jti: string): void {
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 1024) {
    throw new Error('jti must be a non-empty string of at most 1024 characters');
  }
}

function assertExpiry(expiresAtEpochSeconds: number): void {
  if (!Number.isFinite(expiresAtEpochSeconds)) throw new Error('expiresAtEpochSeconds must be a finite number');
}

/**
 * A revocation store in this process's memory: for tests, local runs and the bench. Not shared
 * between Lambda containers, so never the production store.
 */
export class InMemoryRevocationStore implements RevocationStore {
  private readonly entries = new Map<string, number>();
  private readonly now: EpochClock;

  constructor(opts: { readonly now?: EpochClock } = {}) {
    this.now = opts.now ?? systemClock;
  }

  public async isRevoked(jti: string): Promise<boolean> {
    const expiresAt = this.entries.get(jti);
    if (expiresAt === undefined) return false;
    if (expiresAt > this.now()) return true;
    this.entries.delete(jti);
    return false;
  }

  public async revoke(jti: string, expiresAtEpochSeconds: number): Promise<void> {
    assertJti(jti);
    assertExpiry(expiresAtEpochSeconds);
    const existing = this.entries.get(jti) ?? -Infinity;
    this.entries.set(jti, Math.max(existing, expiresAtEpochSeconds));
  }
}

/**
 * How long one store call may take, retries included, before it is abandoned (and throws):
 * well inside the authorizer's 5 s Lambda timeout, so an unanswering table makes the authorizer
 * deny (401) and the façade answer 503, rather than the function timing out into a gateway 500.
 */
export const DEFAULT_TIMEOUT_MS = 2000;

/** Options of {@link DynamoRevocationStore}. */
export interface DynamoRevocationStoreOptions {
  /** Table with partition key `jti` (S) and TTL attribute `expiresAt` (N). */
  readonly tableName: string;
  /** @default - a new `DynamoDBClient` with the Lambda environment's region and credentials */
  readonly client?: DynamoDBClient;
  /** @default - the system clock */
  readonly now?: EpochClock;
  /** Time allowed for one call (a read or a write), the SDK's retries included. @default DEFAULT_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

/**
 * Revocations in a DynamoDB table (partition key `jti` (S), TTL attribute `expiresAt` (N)).
 *
 * `revoke` is a conditional PutItem that writes only when there is no item or the item's
 * `expiresAt` is earlier than the new one, so concurrent or repeated revocations keep the latest
 * expiry (a failed condition is success: a longer revocation is already there). `expiresAt` is
 * also the table's TTL attribute, so DynamoDB deletes an entry some time after it lapses.
 *
 * `isRevoked` reads with a strongly consistent GetItem, because DynamoDB TTL deletes lazily the
 * expiry is compared here too: an item whose `expiresAt` is in the future means revoked. An item
 * whose `expiresAt` is missing or not a number also counts as revoked (fail closed). Errors from
 * DynamoDB propagate, so the authorizer denies when the table cannot be read; so does a call that
 * takes longer than `timeoutMs` (the SDK's default HTTP handler has no timeout of its own: a table
 * that accepts the connection and never answers would otherwise hold the caller until its Lambda
 * times out).
 */
export class DynamoRevocationStore implements RevocationStore {
  private readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly now: EpochClock;
  private readonly timeoutMs: number;

  constructor(opts: DynamoRevocationStoreOptions) {
    if (!opts.tableName) throw new Error('tableName is required');
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error('timeoutMs must be a positive whole number of milliseconds');
    this.tableName = opts.tableName;
    this.client = opts.client ?? new DynamoDBClient({});
    this.now = opts.now ?? systemClock;
    this.timeoutMs = timeoutMs;
  }

  public async isRevoked(jti: string): Promise<boolean> {
    assertJti(jti);
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { jti: { S: jti } },
        ConsistentRead: true,
        ProjectionExpression: 'expiresAt',
      }),
      { abortSignal: AbortSignal.timeout(this.timeoutMs) },
    );
    if (!out.Item) return false;
    const raw = out.Item.expiresAt?.N;
    const expiresAt = raw === undefined ? NaN : Number(raw);
    if (!Number.isFinite(expiresAt)) return true;
    return expiresAt > this.now();
  }

  public async revoke(jti: string, expiresAtEpochSeconds: number): Promise<void> {
    assertJti(jti);
    assertExpiry(expiresAtEpochSeconds);
    // TTL works in whole seconds; round up so the entry never lapses before the token does.
    const expiresAt = Math.ceil(expiresAtEpochSeconds);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { jti: { S: jti }, expiresAt: { N: String(expiresAt) } },
          // Never shorten an existing revocation: write only over none, or over an earlier expiry
          // (a missing or non-numeric `expiresAt` fails `<`, so such an item, revoked for good, stays).
          ConditionExpression: 'attribute_not_exists(jti) OR expiresAt < :e',
          ExpressionAttributeValues: { ':e': { N: String(expiresAt) } },
        }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
    } catch (err) {
      // A revocation that lasts at least as long is already there.
      if ((err as { name?: string } | null)?.name === 'ConditionalCheckFailedException') return;
      throw err;
    }
  }
}
