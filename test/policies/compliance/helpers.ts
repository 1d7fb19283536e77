import { App, PolicyValidationPluginReport, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { DeploymentEnvironment, setDeploymentEnvironment } from '../../../policies/compliance/environment';
import { FHIR_HIPAA_PACK_NAME, FhirHipaaChecks } from '../../../policies/compliance/fhir-hipaa-checks';

/** A fresh app with one stack, optionally marked with a deployment environment. */
export function newStack(env?: DeploymentEnvironment, id = 'Test'): Stack {
  const app = new App();
  const stack = new Stack(app, id);
  if (env) setDeploymentEnvironment(stack, env);
  return stack;
}

/** Runs the FHIR.HIPAA pack over the scope (the way tests and `validate` do). */
export function validate(scope: IConstruct): PolicyValidationPluginReport {
  return new FhirHipaaChecks().validateScope(scope);
}

/** `FHIR.HIPAA-<rule>` */
export function ruleId(rule: string): string {
  return `${FHIR_HIPAA_PACK_NAME}-${rule}`;
}

/**
 * Violation rule names of `rule` in the scope: `FHIR.HIPAA-<rule>` and its granular
 * `FHIR.HIPAA-<rule>[<finding>]` forms, sorted.
 */
export function findingsOf(scope: IConstruct, rule: string, report = validate(scope)): string[] {
  const id = ruleId(rule);
  return report.violations
    .map((v) => v.ruleName)
    .filter((n) => n === id || n.startsWith(`${id}[`))
    .sort();
}

/** The granular finding names (inside the brackets) of `rule`, sorted. */
export function granularFindings(scope: IConstruct, rule: string): string[] {
  const id = ruleId(rule);
  return findingsOf(scope, rule).filter((n) => n.startsWith(`${id}[`)).map((n) => n.slice(id.length + 1, -1));
}

/** Asserts the rule reports nothing in the scope. */
export function expectCompliant(scope: IConstruct, rule: string): void {
  expect(findingsOf(scope, rule)).toEqual([]);
}

/**
 * Asserts the rule reports in the scope: exactly `FHIR.HIPAA-<rule>` when no finding is given,
 * else (at least) `FHIR.HIPAA-<rule>[<finding>]`.
 */
export function expectNoncompliant(scope: IConstruct, rule: string, finding?: string): void {
  const found = findingsOf(scope, rule);
  if (finding === undefined) expect(found).toContain(ruleId(rule));
  else expect(found).toContain(`${ruleId(rule)}[${finding}]`);
}

/** Construct paths the rule (any finding) reports. */
export function violatingPaths(scope: IConstruct, rule: string): string[] {
  const id = ruleId(rule);
  return validate(scope).violations
    .filter((v) => v.ruleName === id || v.ruleName.startsWith(`${id}[`))
    .flatMap((v) => v.violatingResources.map((r) => r.constructPath ?? ''))
    .sort();
}
