import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

type Handler = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

const EVENT = {
  type: 'REQUEST',
  methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/r4/Patient',
  headers: {},
  multiValueHeaders: {},
} as unknown as APIGatewayRequestAuthorizerEvent;

/** Loads a fresh copy of the handler module with `env`. */
function loadHandler(env: Record<string, string | undefined>): Handler {
  const saved = { ...process.env };
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT' }, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  let handler: Handler | undefined;
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      handler = (require('../../../lambdas/smart-authorizer/index') as { handler: Handler }).handler;
    });
  } finally {
    process.env = saved;
  }
  if (!handler) throw new Error('handler not loaded');
  return handler;
}

describe('smart-authorizer handler wiring', () => {
  const realFetch = global.fetch;
  let fetchMock: jest.Mock;

  beforeEach(() => {
    fetchMock = jest.fn(async () => {
      throw new Error('no network in tests');
    });
    global.fetch = fetchMock as unknown as typeof fetch;
  });

  afterEach(() => {
    global.fetch = realFetch;
  });

  it('fetches the pool JWKS at cold start and denies a request without a token', async () => {
    const handler = loadHandler({
      USER_POOL_ID: 'us-east-1_Pool1234',
      CLIENTS: JSON.stringify({ client1: { tier: 'standard', usageIdentifierKey: 'k1' } }),
      REVOCATION_TABLE: undefined,
    });
    expect(fetchMock).toHaveBeenCalled();
    expect(String(fetchMock.mock.calls[0][0])).toBe(
      'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool1234/.well-known/jwks.json',
    );
    await expect(handler(EVENT)).rejects.toThrow(new Error('Unauthorized'));
  });

  it.each([
    ['CLIENTS missing', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: undefined }],
    ['CLIENTS not JSON', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '{nope' }],
    ['CLIENTS empty', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '{}' }],
    ['CLIENTS an array', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '["client1"]' }],
    ['bad tier', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '{"client1":{"tier":3}}' }],
    ['USER_POOL_ID missing', { USER_POOL_ID: undefined, CLIENTS: '{"client1":{}}' }],
    ['USER_POOL_ID malformed', { USER_POOL_ID: 'pool', CLIENTS: '{"client1":{}}' }],
  ])('fails closed (401, not a crash) when %s', async (_label, env) => {
    const handler = loadHandler(env);
    await expect(handler(EVENT)).rejects.toThrow(new Error('Unauthorized'));
  });
});
