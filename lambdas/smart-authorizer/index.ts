/**
 * Lambda entry point of the SMART authorizer: wires the environment to {@link createAuthorizer},
 * once per container.
 *
 * Environment:
 * - `USER_POOL_ID`: the Cognito user pool id.
 * - `CLIENTS`: JSON object `{ "<clientId>": { "tier": "...", "usageIdentifierKey": "..." } }`;
 *   its keys are the registered client ids.
 * - `REVOCATION_TABLE` (optional): DynamoDB table of revoked `jti`s.
 *
 * A configuration error is logged at cold start and every request is then denied (401): the
 * authorizer fails closed rather than crash-looping into API Gateway 500s.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { objectOfObjectsEnv } from '../shared/env';
import { DynamoRevocationStore } from '../shared/revocation';
import { ClientRegistration, createAuthorizer, SmartAuthorizer } from './authorizer';

const logger = new Logger({ serviceName: 'smart-authorizer' });

function parseClients(env: NodeJS.ProcessEnv): Record<string, ClientRegistration> {
  const out: Record<string, ClientRegistration> = {};
  for (const [clientId, { tier, usageIdentifierKey }] of Object.entries(objectOfObjectsEnv(env, 'CLIENTS'))) {
    if (tier !== undefined && typeof tier !== 'string') throw new Error(`CLIENTS.${clientId}.tier must be a string`);
    if (usageIdentifierKey !== undefined && typeof usageIdentifierKey !== 'string') {
      throw new Error(`CLIENTS.${clientId}.usageIdentifierKey must be a string`);
    }
    out[clientId] = { tier, usageIdentifierKey };
  }
  return out;
}

function fromEnvironment(env: NodeJS.ProcessEnv): SmartAuthorizer {
  const clients = parseClients(env);
  return createAuthorizer({
    userPoolId: env.USER_POOL_ID ?? '',
    clientIds: Object.keys(clients),
    clients,
    revocation: env.REVOCATION_TABLE ? new DynamoRevocationStore({ tableName: env.REVOCATION_TABLE }) : undefined,
    logger,
  });
}

let authorizer: SmartAuthorizer;
try {
  authorizer = fromEnvironment(process.env);
} catch (err) {
  logger.error('Authorizer configuration is invalid; every request will be denied', {
    error: err instanceof Error ? err.message : 'unknown',
  });
  authorizer = async () => {
    throw new Error('Unauthorized');
  };
}

export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  return authorizer(event);
}
