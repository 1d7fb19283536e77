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
