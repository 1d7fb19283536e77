import { App, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { ALLOWED_PUBLIC_ROUTES, isAllowedPublicRoute, markPublicRoute, publicRouteOf } from '../../../policies/compliance/public-routes';

function api(): apigw.RestApi {
  return new apigw.RestApi(new Stack(new App(), 'S'), 'Api');
}

describe('markPublicRoute', () => {
  test('the allowed public routes are the SMART discovery and OAuth endpoints', () => {
    expect(ALLOWED_PUBLIC_ROUTES.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /r4/metadata', 'GET /r4/.well-known/smart-configuration', 'GET /auth/authorize', 'POST /auth/token', 'POST /auth/introspect', 'POST /auth/revoke',
    ]);
    expect(isAllowedPublicRoute({ method: 'get', path: '/r4/metadata/' })).toBe(true);
    expect(isAllowedPublicRoute({ method: 'GET', path: '/r4/Patient' })).toBe(false);
  });

  test('marks the L2 method; the CfnMethod reads the marker from its parent', () => {
    const method = api().root.addResource('r4').addResource('metadata').addMethod('GET', new apigw.MockIntegration());
    markPublicRoute(method, { method: 'GET', path: '/r4/metadata', reason: 'capability statement' });
    expect(publicRouteOf(method.node.defaultChild!)).toEqual({ method: 'GET', path: '/r4/metadata', reason: 'capability statement' });
  });

  test('throws for a route that is not allowed, an empty reason, or a method that is not the marked one', () => {
    const a = api();
    const patient = a.root.addResource('r4').addResource('Patient').addMethod('GET', new apigw.MockIntegration());
    expect(() => markPublicRoute(patient, { method: 'GET', path: '/r4/Patient', reason: 'x' })).toThrow(/not an allowed public route/);
    expect(() => markPublicRoute(patient, { method: 'GET', path: '/r4/metadata', reason: 'x' })).toThrow(/is GET \/r4\/Patient, not GET \/r4\/metadata/);
    expect(() => markPublicRoute(patient, { method: 'GET', path: '/r4/metadata', reason: ' ' })).toThrow(/needs a reason/);
  });
});
