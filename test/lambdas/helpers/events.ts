import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

/** The method ARN the test authorizer events carry. */
export const TEST_METHOD_ARN = 'arn:aws:execute-api:us-east-1:111122223333:abcdef1234/v1/GET/r4/Observation';

/**
 * An API Gateway REQUEST authorizer event for `/r4/{proxy+}` with the given headers (each also
 * as a multi-value header), as API Gateway sends it to the SMART authorizer.
 */
export function authorizerEvent(
  headers: Record<string, string> | null,
  overrides: Partial<APIGatewayRequestAuthorizerEvent> = {},
): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: TEST_METHOD_ARN,
    resource: '/r4/{proxy+}',
    path: '/r4/Observation',
    httpMethod: 'GET',
    headers,
    multiValueHeaders: headers ? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) : null,
    pathParameters: { proxy: 'Observation' },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
    ...overrides,
  };
}

/** `Authorization: Bearer <token>`. */
export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
