import { readdirSync } from 'fs';
import { join, parse } from 'path';
import { CfnResource } from 'aws-cdk-lib';
import { NagMessageLevel } from 'cdk-nag';
import { HIPAA_CITATIONS, controlIds, isHipaaCitation, extractControlIds } from '../../../policies/compliance/citations';
import {
  FHIR_HIPAA_RULES, FHIR_HIPAA_RULE_IDS, FhirHipaaChecks, NON_WAIVABLE_IN_PRODUCTION, fhirHipaaRuleId, fhirHipaaRuleInfo,
} from '../../../policies/compliance/fhir-hipaa-checks';
import * as rules from '../../../policies/compliance/rules';

const RULES_DIR = join(__dirname, '../../../policies/compliance/rules');
const CONSTRUCTS = ['FhirKeys', 'SegmentedNetwork', 'FhirDatastore', 'AuditTrail', 'SmartIdentity', 'SmartAppRegistry', 'FhirGateway', 'FhirFirewall', 'markPublicRoute'];

describe('FhirHipaaChecks', () => {
  test('pins the exact rule list', () => {
    expect(FhirHipaaChecks.RULE_IDS).toEqual([
      'FHIR.HIPAA-HealthLakeCMKEncryption',
      'FHIR.HIPAA-HealthLakeDataAccessScoped',
      'FHIR.HIPAA-HealthLakeSandboxSyntheticData',
      'FHIR.HIPAA-IAMNoPHIDataWildcard',
      'FHIR.HIPAA-APIGWMethodAuthorization',
      'FHIR.HIPAA-APIGWPublicRoute',
      'FHIR.HIPAA-APIGWStageWAFAssociation',
      'FHIR.HIPAA-APIGWStageThrottling',
      'FHIR.HIPAA-APIGWAccessLogging',
      'FHIR.HIPAA-APIGWNoDataTrace',
      'FHIR.HIPAA-APIGWDomainTLSPolicy',
      'FHIR.HIPAA-APIGWExecuteApiEndpointDisabled',
      'FHIR.HIPAA-APIGWNoCORSWildcard',
      'FHIR.HIPAA-APIGWAuthorizerCaching',
      'FHIR.HIPAA-APIGWGatewayResponseHSTS',
      'FHIR.HIPAA-WAFv2ManagedRuleGroups',
      'FHIR.HIPAA-WAFv2LogRedaction',
      'FHIR.HIPAA-CognitoMFARequired',
      'FHIR.HIPAA-CognitoThreatProtection',
      'FHIR.HIPAA-CognitoDeletionProtection',
      'FHIR.HIPAA-CognitoNoSelfSignUp',
      'FHIR.HIPAA-CognitoClientNoImplicitFlow',
      'FHIR.HIPAA-CognitoClientOAuthFlows',
      'FHIR.HIPAA-CognitoClientUserExistenceErrors',
      'FHIR.HIPAA-CognitoClientTokenRevocation',
      'FHIR.HIPAA-CognitoClientTokenValidity',
      'FHIR.HIPAA-CognitoClientLaunchAttributesReadOnly',
      'FHIR.HIPAA-CognitoClientNoWildcardScopes',
      'FHIR.HIPAA-CognitoClientWildcardTypeScopes',
      'FHIR.HIPAA-CognitoClientAppAssessment',
      'FHIR.HIPAA-KMSKeyRotation',
      'FHIR.HIPAA-KMSKeyRetained',
      'FHIR.HIPAA-KMSKeyPolicyNoWildcardPrincipal',
      'FHIR.HIPAA-KMSKeyCreateGrantRestricted',
      'FHIR.HIPAA-LogGroupCMKEncryption',
      'FHIR.HIPAA-LogGroupRetention',
      'FHIR.HIPAA-LambdaHealthLakeIsolated',
      'FHIR.HIPAA-LambdaNoSecretsInEnvironment',
      'FHIR.HIPAA-LambdaLogGroupDeclared',
      'FHIR.HIPAA-LambdaApiVersionLifecycle',
      'FHIR.HIPAA-CloudTrailMultiRegion',
      'FHIR.HIPAA-CloudTrailCloudWatchLogs',
      'FHIR.HIPAA-CloudTrailDataEvents',
      'FHIR.HIPAA-SNSAlarmTopicSubscribed',
      'FHIR.HIPAA-NoCrossEnvironmentReference',
      'FHIR.HIPAA-ImportedResourceAttested',
      'FHIR.HIPAA-ResourceEvaluated',
    ]);
    expect(new FhirHipaaChecks().ruleIds).toEqual(FHIR_HIPAA_RULE_IDS);
  });

  test('pins the non-waivable-in-production list', () => {
    expect(FhirHipaaChecks.NON_WAIVABLE_IN_PRODUCTION).toEqual([
      'FHIR.HIPAA-HealthLakeCMKEncryption',
      'FHIR.HIPAA-IAMNoPHIDataWildcard',
      'FHIR.HIPAA-APIGWMethodAuthorization',
      'FHIR.HIPAA-APIGWDomainTLSPolicy',
      'FHIR.HIPAA-APIGWNoCORSWildcard',
      'FHIR.HIPAA-CognitoClientNoImplicitFlow',
      'FHIR.HIPAA-CognitoClientLaunchAttributesReadOnly',
    ]);
    expect(NON_WAIVABLE_IN_PRODUCTION).toBe(FhirHipaaChecks.NON_WAIVABLE_IN_PRODUCTION);
  });

  test('is named FHIR.HIPAA', () => {
    const pack = new FhirHipaaChecks();
    expect(pack.name).toBe('FHIR.HIPAA');
    expect(pack.readPackName).toBe('FHIR.HIPAA');
  });

  test('only the wildcard-type scope rule is a warning', () => {
    expect(FHIR_HIPAA_RULES.filter((r) => r.level !== NagMessageLevel.ERROR).map(fhirHipaaRuleId))
      .toEqual(['FHIR.HIPAA-CognitoClientWildcardTypeScopes']);
  });

  test.each(FHIR_HIPAA_RULES.map((r) => [fhirHipaaRuleId(r), r] as const))('%s: info ends with catalogued citations and names the fix', (_id, rule) => {
    const info = fhirHipaaRuleInfo(rule);
    expect(info.endsWith(controlIds(rule.citations))).toBe(true);
    expect(extractControlIds(info)).toEqual([...rule.citations]);
    for (const c of extractControlIds(info)) expect(isHipaaCitation(c)).toBe(true);
    expect(rule.cause).toMatch(/:/);
    expect(CONSTRUCTS.some((c) => rule.cause.includes(c)) || /`[^`]+`/.test(rule.cause)).toBe(true);
    expect(rule.explanation.length).toBeGreaterThan(20);
  });

  test('a citation outside the catalogue is refused', () => {
    expect(() => controlIds(['164.999(z)' as never])).toThrow(/not in the HIPAA citation catalogue/);
    expect(() => controlIds([])).toThrow();
    expect(Object.keys(HIPAA_CITATIONS)).toEqual(expect.arrayContaining([
      '164.308(a)(1)(ii)(D)', '164.308(a)(3)(i)', '164.308(a)(4)(i)', '164.308(a)(4)(ii)(B)', '164.308(a)(4)(ii)(C)',
      '164.308(a)(5)(ii)(C)', '164.308(a)(6)(ii)', '164.308(a)(7)(i)', '164.308(b)(1)', '164.312(a)(1)', '164.312(a)(2)(i)',
      '164.312(a)(2)(iv)', '164.312(b)', '164.312(c)(1)', '164.312(c)(2)', '164.312(d)', '164.312(e)(1)', '164.312(e)(2)(i)',
      '164.312(e)(2)(ii)', '164.316(b)(2)(i)', '164.308(a)(1)(ii)(A)', '164.308(a)(8)', '164.314(a)(1)',
    ]));
  });

  test('one rule per file: policies/compliance/rules/<service>/<RuleName>.ts exports the function <RuleName>, re-exported by the service index', () => {
    const services = readdirSync(RULES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'common').map((d) => d.name).sort();
    expect(services).toEqual(Object.keys(rules).sort());
    const seen: string[] = [];
    for (const service of services) {
      const files = readdirSync(join(RULES_DIR, service)).filter((f) => f.endsWith('.ts') && f !== 'index.ts');
      const index = (rules as Record<string, Record<string, unknown>>)[service];
      for (const file of files) {
        const name = parse(file).name;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(join(RULES_DIR, service, file)) as Record<string, unknown>;
        const fn = mod[name] as ((node: CfnResource) => unknown) | undefined;
        expect(typeof fn).toBe('function');
        expect(fn!.name).toBe(name);
        expect(index[name]).toBe(fn);
        seen.push(`FHIR.HIPAA-${name}`);
      }
    }
    expect(seen.sort()).toEqual([...FHIR_HIPAA_RULE_IDS].sort());
  });
});

describe('FHIR.HIPAA at synth reads the synthesized templates', () => {
  test('the synth path (templates CDK wrote) and validateScope (construct tree) find the same violations', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { App, Stack, Validations, RemovalPolicy } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const kms = require('aws-cdk-lib/aws-kms') as typeof import('aws-cdk-lib/aws-kms');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { mkdtempSync, readFileSync } = require('fs') as typeof import('fs');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { tmpdir } = require('os') as typeof import('os');
    const outdir = mkdtempSync(join(tmpdir(), 'ztf-pack-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'Bad');
    new kms.Key(stack, 'NoRotation', { enableKeyRotation: false, removalPolicy: RemovalPolicy.DESTROY });
    const direct = new FhirHipaaChecks().validateScope(stack).violations.map((v) => v.ruleName).sort();
    expect(direct).toEqual(['FHIR.HIPAA-KMSKeyCreateGrantRestricted', 'FHIR.HIPAA-KMSKeyRetained', 'FHIR.HIPAA-KMSKeyRotation']);
    Validations.of(app).addPlugins(new FhirHipaaChecks(app));
    expect(() => app.synth()).toThrow(/KMSKeyRotation/);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    const atSynth = report.pluginReports.filter((r: { pluginName: string }) => r.pluginName === 'FHIR.HIPAA').flatMap((r: { violations: { ruleName: string }[] }) => r.violations.map((v) => v.ruleName)).sort();
    expect(atSynth).toEqual(direct);
  });
});
