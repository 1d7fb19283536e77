import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';

type Handler = (event: PreTokenGenerationV2TriggerEvent) => Promise<PreTokenGenerationV2TriggerEvent>;

function load(groupLabels: string | undefined): Handler {
  const saved = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  if (groupLabels === undefined) delete process.env.GROUP_LABELS;
  else process.env.GROUP_LABELS = groupLabels;
  let handler: Handler | undefined;
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      handler = (require('../../../lambdas/smart-launch-context/index') as { handler: Handler }).handler;
    });
  } finally {
    process.env = saved;
  }
  if (!handler) throw new Error('handler not loaded');
  return handler;
}

const event = (attributes: Record<string, string>): PreTokenGenerationV2TriggerEvent =>
  ({
    version: '2',
    triggerSource: 'TokenGeneration_HostedAuth',
    region: 'us-east-1',
    userPoolId: 'us-east-1_Pool1234',
    userName: 'u1',
    callerContext: { awsSdkVersion: 'x', clientId: 'client1' },
    request: { userAttributes: attributes, groupConfiguration: { groupsToOverride: ['psych'] }, scopes: ['patient/Observation.rs'] },
    response: { claimsAndScopeOverrideDetails: {} },
  }) as unknown as PreTokenGenerationV2TriggerEvent;

describe('smart-launch-context handler wiring', () => {
  it('reads GROUP_LABELS', async () => {
    const out = await load('{"psych":["PSY","R"]}')(event({ 'custom:patient': '1', 'custom:fhirUser': 'Patient/1' }));
    expect(out.response.claimsAndScopeOverrideDetails.accessTokenGeneration?.claimsToAddOrOverride).toEqual({
      patient: '1',
      fhirUser: 'Patient/1',
      labels: 'PSY R',
    });
  });

  it('refuses sign-ins with a generic error on bad attributes or bad configuration', async () => {
    await expect(load(undefined)(event({ 'custom:patient': '../1' }))).rejects.toThrow(/^Sign-in refused$/);
    await expect(load('{"psych":"R"}')(event({}))).rejects.toThrow(/^Sign-in refused$/);
  });
});

describe('the environment contract (lambdas/smart-launch-context/environment.ts)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseSmartLaunchContextEnvironment, smartLaunchContextEnvironment } = require('../../../lambdas/smart-launch-context/environment') as typeof import('../../../lambdas/smart-launch-context/environment');

  test('round-trips: what SmartIdentity writes is what the handler reads', () => {
    const full = { groupLabels: { psych: ['PSY', 'R'], 'part2-program': ['SUD'] } };
    expect(parseSmartLaunchContextEnvironment(smartLaunchContextEnvironment(full))).toEqual(full);
    expect(parseSmartLaunchContextEnvironment(smartLaunchContextEnvironment({}))).toEqual({});
  });

  test('the writer names the setting, the parser the variable', () => {
    expect(() => smartLaunchContextEnvironment({ groupLabels: { psych: ['two words'] } })).toThrow(/^groupLabels: psych must be a list of label codes/);
    expect(() => parseSmartLaunchContextEnvironment({ GROUP_LABELS: '{"psych":"R"}' })).toThrow(/^GROUP_LABELS: psych must be a list of label codes/);
    expect(() => parseSmartLaunchContextEnvironment({ GROUP_LABELS: '[' })).toThrow(/^GROUP_LABELS: is not valid JSON/);
  });
});
