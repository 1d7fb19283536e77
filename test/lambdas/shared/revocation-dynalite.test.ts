/**
 * The DynamoDB revocation store against an implementation of the DynamoDB API: `dynalite`,
 * started here on 127.0.0.1 (in memory), with the real AWS SDK client speaking the real wire
 * protocol to it. The table is the one `SmartIdentity` creates: partition key `jti` (S), TTL
 * attribute `expiresAt` (N, epoch seconds).
 *
 * Covered: revoke and check; expiry by the TTL attribute (compared on read, since DynamoDB's TTL
 * sweep is lazy: dynalite, like DynamoDB within its sweep delay, never deletes the item);
 * conditional writes (never shorten; concurrent revocations keep the latest; items without a
 * numeric expiry stay revoked); the store unreachable (connection refused, or accepted and never
 * answered) and throttling, each failing closed at the store, the authorizer and the façade.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DEFAULT_TIMEOUT_MS, DynamoRevocationStore } from '../../../lambdas/shared/revocation';
import { createAuthorizer } from '../../../lambdas/smart-authorizer/authorizer';
import { createFacade } from '../../../lambdas/smart-facade/facade';
import { authorizerEvent, bearer } from '../helpers/events';
import { createTestIssuer } from '../helpers/jwt';

// dynalite ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

const TABLE = 'revocations';
const NOW = 1_800_000_000;
const CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** A client as the Lambda's default one, pointed at a local endpoint (default retries: 3 attempts). */
function clientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
}

let db: Server;
let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  endpoint = `http://127.0.0.1:${await listen(db)}`;
  client = clientFor(endpoint);
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'jti', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'jti', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  client?.destroy();
  if (db) await close(db);
});

async function stored(jti: string): Promise<Record<string, unknown> | undefined> {
  return (await client.send(new GetItemCommand({ TableName: TABLE, Key: { jti: { S: jti } }, ConsistentRead: true }))).Item;
}

describe('DynamoRevocationStore against dynalite', () => {
  test('revoke, then check: revoked until the expiry; other ids are not', async () => {
    const store = new DynamoRevocationStore({ tableName: TABLE, client, now: () => NOW });
    expect(await store.isRevoked('jti-basic')).toBe(false);
    await store.revoke('jti-basic', NOW + 300.2);
    expect(await store.isRevoked('jti-basic')).toBe(true);
    expect(await store.isRevoked('jti-other')).toBe(false);
    // The TTL attribute is a Number of whole epoch seconds, rounded up (never lapses early).
    expect(await stored('jti-basic')).toEqual({ jti: { S: 'jti-basic' }, expiresAt: { N: String(NOW + 301) } });
  });

  test('expiry by the TTL attribute: compared on every read, the item still there (TTL deletes lazily), and after the sweep', async () => {
    let t = NOW;
    const store = new DynamoRevocationStore({ tableName: TABLE, client, now: () => t });
    await store.revoke('jti-ttl', NOW + 60);
    t = NOW + 59;
    expect(await store.isRevoked('jti-ttl')).toBe(true);
    t = NOW + 60;
    expect(await store.isRevoked('jti-ttl')).toBe(false);
    expect(await stored('jti-ttl')).toBeDefined(); // not yet swept
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { jti: { S: 'jti-ttl' } } })); // what the TTL sweep does
    expect(await store.isRevoked('jti-ttl')).toBe(false);
    // With the system clock: an entry whose expiry has passed is not a revocation.
    const live = new DynamoRevocationStore({ tableName: TABLE, client });
    await live.revoke('jti-past', Date.now() / 1000 - 5);
    expect(await live.isRevoked('jti-past')).toBe(false);
  });

  test('conditional writes: a shorter revocation never shortens an entry; a longer one extends it', async () => {
    const store = new DynamoRevocationStore({ tableName: TABLE, client, now: () => NOW });
    await store.revoke('origin-1', NOW + 30 * 86_400);
    await store.revoke('origin-1', NOW + 300); // DynamoDB answers ConditionalCheckFailedException: success
    expect((await stored('origin-1'))?.expiresAt).toEqual({ N: String(NOW + 30 * 86_400) });
    await store.revoke('origin-1', NOW + 40 * 86_400);
    expect((await stored('origin-1'))?.expiresAt).toEqual({ N: String(NOW + 40 * 86_400) });
    await store.revoke('origin-1', NOW + 40 * 86_400); // the same again: idempotent
    expect((await stored('origin-1'))?.expiresAt).toEqual({ N: String(NOW + 40 * 86_400) });
  });

  test('conditional writes: concurrent revocations of one id keep the latest expiry', async () => {
    const store = new DynamoRevocationStore({ tableName: TABLE, client, now: () => NOW });
    const expiries = Array.from({ length: 12 }, (_, i) => NOW + 1000 + ((i * 7919) % 97) * 60);
    await Promise.all(expiries.map((e) => store.revoke('jti-race', e)));
    expect((await stored('jti-race'))?.expiresAt).toEqual({ N: String(Math.max(...expiries)) });
  });

  test('conditional writes: an item without a numeric expiry stays revoked for good and is never overwritten', async () => {
    const store = new DynamoRevocationStore({ tableName: TABLE, client, now: () => NOW });
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { jti: { S: 'odd-missing' } } }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { jti: { S: 'odd-string' }, expiresAt: { S: String(NOW - 1) } } }));
    for (const jti of ['odd-missing', 'odd-string']) {
      const before = await stored(jti);
      await store.revoke(jti, NOW + 60);
      expect(await stored(jti)).toEqual(before);
      expect(await store.isRevoked(jti)).toBe(true);
    }
  });

  test('ids are compared exactly (no prefix or case folding)', async () => {
    const store = new DynamoRevocationStore({ tableName: TABLE, client, now: () => NOW });
    await store.revoke('Case-Jti', NOW + 60);
    expect(await store.isRevoked('case-jti')).toBe(false);
    expect(await store.isRevoked('Case-Jt')).toBe(false);
    expect(await store.isRevoked('Case-Jti')).toBe(true);
  });

  test('a table that does not exist is an error (the caller denies), not "not revoked"', async () => {
    const store = new DynamoRevocationStore({ tableName: 'no-such-table', client, now: () => NOW });
    await expect(store.isRevoked('x')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(store.revoke('x', NOW + 60)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

// ---------------------------------------------------------------------------------------------
// The store unreachable, and throttling: fail closed at the store, the authorizer and the façade.

const POOL = 'us-east-1_Dynalite01';
const CLIENT_ID = 'dynaliteapp';

function facadeEvent(form: Record<string, string>): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/auth/revoke',
    resource: '/auth/revoke',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    multiValueHeaders: {},
    body: new URLSearchParams(form).toString(),
    isBase64Encoded: false,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

/** The authorizer and the façade on one store, as deployed (one table). */
function kit(store: DynamoRevocationStore) {
  const issuer = createTestIssuer({ userPoolId: POOL, clientId: CLIENT_ID });
  const authorizer = createAuthorizer({ userPoolId: POOL, clientIds: [CLIENT_ID], jwks: issuer.jwks, revocation: store, logger: QUIET });
  const facade = createFacade({
    fhirBaseUrl: 'https://fhir.example.org/r4',
    authBaseUrl: 'https://fhir.example.org/auth',
    cognitoDomainUrl: 'https://auth.example.org',
    userPoolId: POOL,
    clientIds: [CLIENT_ID],
    revocation: store,
    jwks: issuer.jwks,
    logger: QUIET,
    fetch: async () => {
      throw new Error('no upstream in this test');
    },
  });
  const token = issuer.sign({ scope: 'patient/Observation.rs', patient: 'p1' });
  const authorize = () => authorizer(authorizerEvent(bearer(token)));
  return { issuer, authorizer, facade, token, authorize };
}

test('the authorizer and the façade on the dynalite store: a token revoked at the façade is refused by the authorizer, its sign-in too', async () => {
  const store = new DynamoRevocationStore({ tableName: TABLE, client });
  const { facade, issuer, token, authorize, authorizer } = kit(store);
  await expect(authorize()).resolves.toMatchObject({ principalId: expect.any(String) });
  const revoked = await facade.revoke(facadeEvent({ token, client_id: CLIENT_ID }));
  expect(revoked.statusCode).toBe(200);
  await expect(authorize()).rejects.toThrow('Unauthorized');
  // Another token of the same sign-in (same origin_jti, new jti) is refused as well.
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { origin_jti: string };
  const sibling = issuer.sign({ scope: 'patient/Observation.rs', patient: 'p1', origin_jti: claims.origin_jti });
  await expect(authorizer(authorizerEvent(bearer(sibling)))).rejects.toThrow('Unauthorized');
  // An unrelated token is not.
  await expect(authorizer(authorizerEvent(bearer(issuer.sign({ scope: 'patient/Observation.rs', patient: 'p1' }))))).resolves.toBeDefined();
});

describe('the store unreachable: fail closed', () => {
  test('connection refused: the store throws; the authorizer denies; the façade answers 503', async () => {
    const probe = createServer();
    const port = await listen(probe);
    await close(probe); // nothing listens there now
    const dead = clientFor(`http://127.0.0.1:${port}`);
    try {
      const store = new DynamoRevocationStore({ tableName: TABLE, client: dead });
      await expect(store.isRevoked('x')).rejects.toThrow();
      await expect(store.revoke('x', Date.now() / 1000 + 60)).rejects.toThrow();
      const { facade, token, authorize } = kit(store);
      await expect(authorize()).rejects.toThrow('Unauthorized');
      const revoked = await facade.revoke(facadeEvent({ token, client_id: CLIENT_ID }));
      expect(revoked.statusCode).toBe(503);
      expect(JSON.parse(revoked.body)).toMatchObject({ error: 'temporarily_unavailable' });
    } finally {
      dead.destroy();
    }
  });

  test('accepted but never answered: each call is abandoned after the store timeout, and the authorizer denies in time', async () => {
    const held: Array<() => void> = [];
    const blackhole = createServer((_req, res) => void held.push(() => res.destroy()));
    const port = await listen(blackhole);
    const silent = clientFor(`http://127.0.0.1:${port}`);
    try {
      const store = new DynamoRevocationStore({ tableName: TABLE, client: silent, timeoutMs: 300 });
      const started = Date.now();
      await expect(store.isRevoked('x')).rejects.toMatchObject({ name: 'AbortError' });
      await expect(store.revoke('x', Date.now() / 1000 + 60)).rejects.toMatchObject({ name: 'AbortError' });
      const { authorize } = kit(store);
      await expect(authorize()).rejects.toThrow('Unauthorized');
      expect(Date.now() - started).toBeLessThan(3 * 300 + 2000);
      // The default leaves the authorizer (5 s Lambda timeout) time to deny with a 401.
      expect(DEFAULT_TIMEOUT_MS).toBeLessThanOrEqual(2500);
    } finally {
      for (const release of held) release();
      silent.destroy();
      await close(blackhole);
    }
  });
});

describe('throttling', () => {
  /** A proxy in front of dynalite answering the first `throttled` requests with a DynamoDB throttling error. */
  async function throttlingProxy(throttled: number, type: string): Promise<{ endpoint: string; seen: () => number; close: () => Promise<void> }> {
    let seen = 0;
    const dbUrl = new URL(endpoint);
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen += 1;
        if (seen <= throttled) {
          res.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': `throttled-${seen}` });
          res.end(JSON.stringify({ __type: type, message: 'Rate of requests exceeds the allowed throughput.' }));
          return;
        }
        const upstream = httpRequest({ host: dbUrl.hostname, port: dbUrl.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 500, up.headers);
          up.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        upstream.end(Buffer.concat(chunks));
      });
    });
    const port = await listen(server);
    return { endpoint: `http://127.0.0.1:${port}`, seen: () => seen, close: () => close(server) };
  }

  const PROVISIONED = 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException';
  const THROTTLING = 'com.amazon.coral.availability#ThrottlingException';

  test.each([
    ['ProvisionedThroughputExceededException', PROVISIONED],
    ['ThrottlingException', THROTTLING],
  ])('a transient %s is retried by the SDK and the answer is the real one', async (_name, type) => {
    const store0 = new DynamoRevocationStore({ tableName: TABLE, client, now: () => NOW });
    await store0.revoke('jti-throttled', NOW + 600);
    const proxy = await throttlingProxy(1, type);
    const throttledClient = clientFor(proxy.endpoint);
    try {
      const store = new DynamoRevocationStore({ tableName: TABLE, client: throttledClient, now: () => NOW });
      expect(await store.isRevoked('jti-throttled')).toBe(true);
      expect(proxy.seen()).toBe(2);
    } finally {
      throttledClient.destroy();
      await proxy.close();
    }
  });

  test('persistent throttling: the store throws the throttling error, the authorizer denies, the façade answers 503', async () => {
    const proxy = await throttlingProxy(Number.MAX_SAFE_INTEGER, PROVISIONED);
    const throttledClient = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 2 });
    try {
      const store = new DynamoRevocationStore({ tableName: TABLE, client: throttledClient, timeoutMs: 10_000 });
      await expect(store.isRevoked('x')).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
      await expect(store.revoke('x', Date.now() / 1000 + 60)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
      const { facade, token, authorize } = kit(store);
      await expect(authorize()).rejects.toThrow('Unauthorized');
      const revoked = await facade.revoke(facadeEvent({ token, client_id: CLIENT_ID }));
      expect(revoked.statusCode).toBe(503);
    } finally {
      throttledClient.destroy();
      await proxy.close();
    }
  });
});
