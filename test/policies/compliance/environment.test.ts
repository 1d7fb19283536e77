import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { deploymentEnvironmentOf, isProduction, setDeploymentEnvironment } from '../../../policies/compliance/environment';

describe('setDeploymentEnvironment / deploymentEnvironmentOf', () => {
  test('records the environment on the stack; constructs below inherit it', () => {
    const app = new App();
    const stack = new Stack(app, 'Prod');
    setDeploymentEnvironment(stack, 'production');
    const child = new Construct(new Construct(stack, 'A'), 'B');
    const nested = new NestedStack(stack, 'Nested');
    expect(deploymentEnvironmentOf(stack)).toBe('production');
    expect(deploymentEnvironmentOf(child)).toBe('production');
    expect(deploymentEnvironmentOf(new Construct(nested, 'C'))).toBe('production');
    expect(isProduction(child)).toBe(true);
  });

  test('unmarked stacks and the app have no environment', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    expect(deploymentEnvironmentOf(stack)).toBeUndefined();
    expect(deploymentEnvironmentOf(app)).toBeUndefined();
    expect(isProduction(stack)).toBe(false);
  });

  test('setting the same value twice is fine; a different value or an unknown one throws', () => {
    const stack = new Stack(new App(), 'S');
    setDeploymentEnvironment(stack, 'sandbox');
    setDeploymentEnvironment(stack, 'sandbox');
    expect(() => setDeploymentEnvironment(stack, 'production')).toThrow(/already marked "sandbox"/);
    expect(() => setDeploymentEnvironment(new Stack(new App(), 'T'), 'prod' as never)).toThrow(/not one of sandbox \| staging \| production/);
    expect(() => setDeploymentEnvironment(new Construct(new App(), 'X') as never, 'sandbox')).toThrow(/must be a Stack/);
  });
});
