import type { ExplicitAuthFlowsType, OAuthFlowType, UserPoolClientType } from '@aws-sdk/client-cognito-identity-provider';
import { expectedClient, type ExpectedClient } from '../../../lambdas/cognito-guard/expectations';
import { loadAppRegistry, type RegisteredApp } from '../../../policies/app-registry';

export const USER_POOL_ID = 'eu-west-1_GuardPool1';
export const NAMESPACE = 'ZeroTrustFhir/Security';
/** A secret as DescribeUserPoolClient returns it: it must never appear in a report. */
export const CLIENT_SECRET = 'shhh1secret2value3that4must5never6leak7abcdefghijklmnop';

/** The kit's sample registry (`policies/apps.json`): harbor-patient-portal (public, low), cardio-insight (confidential, medium), summit-payer-bulk (system only, high). */
export const APPS: readonly RegisteredApp[] = loadAppRegistry();

/** Cognito-style client ids (26 lowercase letters and digits), one per app. */
export const CLIENT_IDS: Readonly<Record<string, string>> = {
  'harbor-patient-portal': '1h2a3r4b5o6r7p8o9r0t1a2l3x',
  'cardio-insight': '4c5a6r7d8i9o0i1n2s3i4g5h6t',
  'summit-payer-bulk': '7s8u9m0m1i2t3p4a5y6e7r8b9k',
};
export const UNKNOWN_CLIENT_ID = '9r8o7g6u5e4c3l2i1e0n9t8x7y';

export const app = (id: string): RegisteredApp => APPS.find((a) => a.id === id)!;
export const registered = () => APPS.map((a) => ({ clientId: CLIENT_IDS[a.id], app: a }));

/**
 * The client as Cognito describes one that `SmartAppRegistry` deployed: validities in minutes
 * (as CloudFormation writes them), except the refresh token reported in days where it is whole
 * days (Cognito answers in the units last set; the guard compares in seconds).
 */
export function compliantClient(appId: string, e: ExpectedClient = expectedClient(app(appId))): UserPoolClientType {
  const refreshDays = e.refreshTokenValiditySeconds % 86_400 === 0;
  return {
    UserPoolId: USER_POOL_ID,
    ClientId: CLIENT_IDS[appId],
    ClientName: appId,
    ...(e.generateSecret ? { ClientSecret: CLIENT_SECRET } : {}),
    AllowedOAuthFlowsUserPoolClient: true,
    AllowedOAuthFlows: [...e.allowedOAuthFlows] as OAuthFlowType[],
    // Cognito keeps its own order.
    AllowedOAuthScopes: [...e.allowedOAuthScopes].reverse(),
    ...(e.callbackUrls.length > 0 ? { CallbackURLs: [...e.callbackUrls] } : {}),
    AccessTokenValidity: e.accessTokenValiditySeconds / 60,
    IdTokenValidity: e.idTokenValiditySeconds / 60,
    RefreshTokenValidity: refreshDays ? e.refreshTokenValiditySeconds / 86_400 : e.refreshTokenValiditySeconds / 60,
    TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: refreshDays ? 'days' : 'minutes' },
    EnableTokenRevocation: true,
    ExplicitAuthFlows: [...e.explicitAuthFlows] as ExplicitAuthFlowsType[],
    SupportedIdentityProviders: ['COGNITO'],
    PreventUserExistenceErrors: 'ENABLED',
  };
}

/** An AWS SDK service error as the SDK throws it (`name` is the error code). */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}
