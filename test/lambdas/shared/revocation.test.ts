import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoRevocationStore, InMemoryRevocationStore } from '../../../lambdas/shared/revocation';

const NOW = 1_800_000_000;
const now = (): number => NOW;

describe('InMemoryRevocationStore', () => {
  it('revokes until the expiry, then forgets', async () => {
    let t = NOW;
    const store = new InMemoryRevocationStore({ now: () => t });
    expect(await store.isRevoked('a')).toBe(false);
    await store.revoke('a', NOW + 60);
    expect(await store.isRevoked('a')).toBe(true);
    expect(await store.isRevoked('b')).toBe(false);
    t = NOW + 60;
    expect(await store.isRevoked('a')).toBe(false);
  });

  it('never shortens a revocation, and a later expiry extends it', async () => {
    let t = NOW;
    const store = new InMemoryRevocationStore({ now: () => t });
    await store.revoke('a', NOW + 600);
    await store.revoke('a', NOW + 1);
    t = NOW + 599;
    expect(await store.isRevoked('a')).toBe(true);
    await store.revoke('a', NOW + 1200);
    t = NOW + 1199;
    expect(await store.isRevoked('a')).toBe(true);
    t = NOW + 1200;
    expect(await store.isRevoked('a')).toBe(false);
  });

  it.each([['', NOW + 1], ['a', NaN], ['a', Infinity]])('rejects bad input %j %s', async (jti, exp) => {
    await expect(new InMemoryRevocationStore().revoke(jti, exp)).rejects.toThrow();
  });
});

describe('DynamoRevocationStore', () => {
  const ddb = mockClient(DynamoDBClient);
  const client = new DynamoDBClient({ region: 'us-east-1' });
  const store = new DynamoRevocationStore({ tableName: 'revocations', client, now });

  beforeEach(() => ddb.reset());

  it('reads with a strongly consistent GetItem on the jti key', async () => {
    ddb.on(GetItemCommand).resolves({});
    expect(await store.isRevoked('jti-1')).toBe(false);
    expect(ddb.commandCalls(GetItemCommand)[0].args[0].input).toEqual({
      TableName: 'revocations',
      Key: { jti: { S: 'jti-1' } },
      ConsistentRead: true,
      ProjectionExpression: 'expiresAt',
    });
  });

  it.each([
    ['expiry in the future', true, { jti: { S: 'x' }, expiresAt: { N: String(NOW + 1) } }],
    ['expiry now (TTL not yet swept)', false, { jti: { S: 'x' }, expiresAt: { N: String(NOW) } }],
    ['expiry in the past (TTL not yet swept)', false, { jti: { S: 'x' }, expiresAt: { N: String(NOW - 10) } }],
    ['no expiry attribute (fail closed)', true, { jti: { S: 'x' } }],
    ['non-numeric expiry (fail closed)', true, { jti: { S: 'x' }, expiresAt: { N: 'soon' } }],
  ])('item with %s → revoked=%s', async (_label, revoked, Item) => {
    ddb.on(GetItemCommand).resolves({ Item });
    expect(await store.isRevoked('x')).toBe(revoked);
  });

  it('propagates read errors so the caller can deny', async () => {
    ddb.on(GetItemCommand).rejects(new Error('throttled'));
    await expect(store.isRevoked('x')).rejects.toThrow('throttled');
  });

  it('writes the jti with a whole-second TTL that never shortens an existing entry', async () => {
    ddb.on(PutItemCommand).resolves({});
    await store.revoke('jti-2', NOW + 0.5);
    expect(ddb.commandCalls(PutItemCommand)[0].args[0].input).toEqual({
      TableName: 'revocations',
      Item: { jti: { S: 'jti-2' }, expiresAt: { N: String(NOW + 1) } },
      ConditionExpression: 'attribute_not_exists(jti) OR expiresAt < :e',
      ExpressionAttributeValues: { ':e': { N: String(NOW + 1) } },
    });
  });

  it('treats a failed condition (a longer revocation exists) as success', async () => {
    const err = Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' });
    ddb.on(PutItemCommand).rejects(err);
    await expect(store.revoke('jti-3', NOW + 5)).resolves.toBeUndefined();
  });

  it('propagates other write errors', async () => {
    ddb.on(PutItemCommand).rejects(new Error('boom'));
    await expect(store.revoke('jti-3', NOW + 5)).rejects.toThrow('boom');
  });

  it('keeps the latest expiry over repeated revocations (DynamoDB conditional-write semantics)', async () => {
    // A one-table model of DynamoDB for exactly the expressions the store sends: PutItem with the
    // condition evaluated as DynamoDB does (a missing attribute fails `<`), GetItem by key.
    const table = new Map<string, Record<string, { S?: string; N?: string }>>();
    ddb.on(PutItemCommand).callsFake(async (input: { Item: Record<string, { S?: string; N?: string }>; ConditionExpression: string; ExpressionAttributeValues: Record<string, { N: string }> }) => {
      expect(input.ConditionExpression).toBe('attribute_not_exists(jti) OR expiresAt < :e');
      const existing = table.get(input.Item.jti.S!);
      const stored = existing?.expiresAt?.N;
      if (existing && !(stored !== undefined && Number(stored) < Number(input.ExpressionAttributeValues[':e'].N))) {
        throw Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
      }
      table.set(input.Item.jti.S!, input.Item);
      return {};
    });
    ddb.on(GetItemCommand).callsFake(async (input: { Key: { jti: { S: string } } }) => ({ Item: table.get(input.Key.jti.S) }));
    let t = NOW;
    const s = new DynamoRevocationStore({ tableName: 'revocations', client, now: () => t });

    await s.revoke('origin-1', NOW + 30 * 86_400); // a sign-in, for the refresh-token validity
    await s.revoke('origin-1', NOW + 300); // the same sign-in again, with a shorter bound
    expect(table.get('origin-1')?.expiresAt).toEqual({ N: String(NOW + 30 * 86_400) });
    t = NOW + 301;
    expect(await s.isRevoked('origin-1')).toBe(true);
    await s.revoke('origin-1', NOW + 40 * 86_400); // a later bound extends it
    expect(table.get('origin-1')?.expiresAt).toEqual({ N: String(NOW + 40 * 86_400) });
    // An item without a numeric expiry (fail closed: revoked for good) is never overwritten.
    table.set('odd', { jti: { S: 'odd' } });
    await s.revoke('odd', NOW + 60);
    expect(table.get('odd')).toEqual({ jti: { S: 'odd' } });
    expect(await s.isRevoked('odd')).toBe(true);
  });

  it('requires a table name', () => {
    expect(() => new DynamoRevocationStore({ tableName: '' })).toThrow();
  });
});
