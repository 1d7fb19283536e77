/**
 * Lambda entry point of the SMART authorizer: wires the environment to {@link createAuthorizer},
 * once per container.
 *
 * The environment is the contract of `environment.ts` ({@link SmartAuthorizerEnvironment}, written
 * by `FhirGateway`, parsed here by {@link parseSmartAuthorizerEnvironment}). With
 * `APP_METRICS_NAMESPACE` set, the per-app metrics are recorded (`shared/app-metrics.ts`, service
 * `smart-authorizer`).
 *
 * A configuration error is logged at cold start and every request is then denied (401): the
 * authorizer fails closed rather than crash-looping into API Gateway 500s.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { AppMetrics } from '../shared/app-metrics';
import { DynamoRevocationStore } from '../shared/revocation';
import { createAuthorizer, SmartAuthorizer } from './authorizer';
import { parseSmartAuthorizerEnvironment, type SmartAuthorizerEnvironment } from './environment';

const logger = new Logger({ serviceName: 'smart-authorizer' });

/** The authorizer of an environment; throws naming the variable at fault. */
export function fromEnvironment(env: NodeJS.ProcessEnv): SmartAuthorizer {
  const s: SmartAuthorizerEnvironment = parseSmartAuthorizerEnvironment(env);
  return createAuthorizer({
    userPoolId: s.userPoolId,
    clientIds: Object.keys(s.clients),
    clients: s.clients,
    revocation: s.revocationTable !== undefined ? new DynamoRevocationStore({ tableName: s.revocationTable }) : undefined,
    ...(s.metrics !== undefined ? { metrics: new AppMetrics({ ...s.metrics, service: 'smart-authorizer', onError: (message, detail) => logger.error(message, detail) }) } : {}),
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
