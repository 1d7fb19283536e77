import { isIPv4, isIPv6 } from 'net';
import { ArnFormat, Aws, Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import {
  ANONYMOUS_IP_RULE_GROUP, AUTHORIZE_EXEMPTION, AUTHORIZE_MAX_QUERY_STRING_BYTES, CHECK_FAILED_METRIC, COUNT_EXCEPTION, DRIFT_KINDS, DriftKind,
  LABEL_EXCEPTIONS, LabelException, REDACTED_HEADERS, REQUIRED_MANAGED_RULE_GROUPS, STAGE_ARN_DIMENSION, driftMetricName,
} from '../lambdas/waf-guard/expectations';
import { wafGuardEnvironment } from '../lambdas/waf-guard/environment';
import { acknowledge } from '../policies/compliance/acknowledge';
import { SECURITY_METRIC_NAMESPACE } from './audit-trail';
import { DeploymentEnvironment } from './config';
import { IFhirKeys } from './fhir-keys';
import { KitFunction } from './private/kit-function';
import { createAuditLogGroup } from './private/log-group';

/**
 * The largest request body API Gateway forwards to WAF for inspection (`KB_64`, the largest
 * `AssociationConfig.RequestBody` value for `API_GATEWAY`). WAF never sees a byte past it.
 */
export const WAF_BODY_INSPECTION_LIMIT_BYTES = 64 * 1024;

/** Properties of {@link FhirFirewall}. */
export interface FhirFirewallProps {
  /** `logs` encrypts the WAF log group; `audit` the guard's dead-letter queue. */
  readonly keys: IFhirKeys;

  /**
   * The one stage the web ACL protects: the one-stage form of `stages` (give one of the two).
   * The association is built from it (its ARN and a dependency on it), so it is created only once
   * the stage exists.
   *
   * @default - `stages` must be given
   */
  readonly stage?: apigateway.Stage;

  /**
   * Every stage the web ACL protects: one per live API version, all of the same REST API, each
   * once (give this or `stage`). Each gets its own association, is checked by the drift guard
   * and has its own association-drift alarms. At most {@link MAX_FIREWALL_STAGES}.
   *
   * Each association (and association-drift alarm) is named after its stage
   * (`Association<stage name>`), so adding, retiring or reordering versions never moves another
   * stage's association (which CloudFormation's clean-up of a replaced association would
   * disassociate). The one-stage form `stage` keeps the id `Association`.
   *
   * @default - `stage` must be given
   */
  readonly stages?: readonly apigateway.Stage[];

  /** Receives the drift and failed-check alarms (`AuditTrail.alarmTopic`). */
  readonly alarmTopic: sns.ITopic;

  /**
   * Where the stack runs. In `production` the anonymous-IP rule group cannot be set to count.
   *
   * @default 'sandbox'
   */
  readonly environment?: DeploymentEnvironment;

  /**
   * Retention of the WAF log group and the guard's log group, at least six years.
   *
   * @default logs.RetentionDays.SIX_YEARS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Requests one client IP may make in any 5-minute window before the rate-based rule blocks it
   * (10 to 2,000,000,000).
   *
   * @default 1000
   */
  readonly rateLimitPerIp?: number;

  /**
   * The largest request body, in bytes, the kit's own size rule lets through (it replaces the
   * common rule set's 8 KB `SizeRestrictions_BODY`, which FHIR transaction Bundles exceed, and
   * which is set to count). At most {@link WAF_BODY_INSPECTION_LIMIT_BYTES} (64 KiB): the web ACL
   * asks API Gateway to forward the largest body it can (`KB_64`) and the size rule treats a body
   * larger than that as oversize and blocks it (`OversizeHandling: MATCH`), so every body that
   * passes was inspected in full by the managed rule groups. A larger limit could not be
   * enforced by WAF (it would see only the first 64 KiB of the body and measure that), and the
   * rest of the body would reach the proxy uninspected.
   *
   * @default 65536 (64 KiB)
   */
  readonly maxBodyBytes?: number;

  /**
   * What the AWS anonymous-IP rule group (VPNs, Tor, proxies, hosting providers) does: `block`,
   * or `count` to only label and log (refused in `production`). Clients in `systemAllowList`
   * are exempt from this group, so backend `system/` clients hosted in a cloud are not blocked
   * as "hosting provider" addresses.
   *
   * @default 'block'
   */
  readonly anonymousIpAction?: 'block' | 'count';

  /**
   * CIDR blocks (IPv4 or IPv6) of the backend `system/` integrations. When set, WAF blocks,
   * from any other address:
   * - every request whose path contains `$export` (bulk data: `/r4/$export`,
   *   `/r4/Patient/$export`, `/r4/Group/{id}/$export`, and the status polling), after
   *   URL-decoding and lower-casing the path;
   * - every token request using the `client_credentials` grant (the only way to obtain a
   *   `system/` token): a path containing `/auth/token` whose body or query string contains
   *   `client_credentials`, after URL-decoding and lower-casing.
   * WAF cannot read a token's scopes, so a `system/` token, once issued to an allow-listed
   * address, is limited by its lifetime, not by where it is used from; bulk export stays
   * restricted to the allow-list either way. An empty list blocks both for everyone.
   *
   * @default - no restriction by address
   */
  readonly systemAllowList?: string[];

  /**
   * ISO 3166-1 alpha-2 country codes (e.g. `['US', 'CA']`) from which requests are accepted;
   * requests from every other country (by WAF's geolocation of the source IP) are blocked.
   *
   * @default - no geographic restriction
   */
  readonly geoAllowList?: string[];

  /**
   * Let the drift guard re-associate the expected web ACL when the stage has none or another
   * one. Grants the guard `wafv2:AssociateWebACL` (and `apigateway:SetWebACL`) on this web ACL
   * and stage only. Drift is alarmed either way.
   *
   * @default false
   */
  readonly autoRemediate?: boolean;
}

/**
 * The most stages one firewall protects: the guard's shared drift alarms take the maximum over
 * every stage's metric, and a CloudWatch metric-math alarm reads at most 10 metrics.
 */
export const MAX_FIREWALL_STAGES = 10;

/** Names of the web ACL's rules (the WAF metric names are `FhirFirewall-<rule>`). */
export const FIREWALL_RULE_NAMES = {
  geoAllowList: 'GeoAllowList',
  exportAllowList: 'SystemAllowListExport',
  clientCredentialsAllowList: 'SystemAllowListClientCredentials',
  ipReputation: 'AWSManagedRulesAmazonIpReputationList',
  anonymousIp: 'AWSManagedRulesAnonymousIpList',
  rateLimit: 'RateLimitPerIp',
  bodySize: 'BodySizeLimit',
  common: 'AWSManagedRulesCommonRuleSet',
  genericRfiQueryArguments: 'GenericRFIQueryArgumentsExceptAuthorize',
  queryStringSize: 'QueryStringSizeExceptAuthorize',
  queryStringSizeLimit: 'QueryStringSizeLimit',
  knownBadInputs: 'AWSManagedRulesKnownBadInputsRuleSet',
  sqli: 'AWSManagedRulesSQLiRuleSet',
} as const;

const CIDR_V4 = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;
const CIDR_V6 = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/;

/** Splits CIDRs into IPv4 and IPv6; throws on anything WAF would reject. */
function splitCidrs(owner: string, cidrs: readonly string[]): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const cidr of cidrs) {
    if (Token.isUnresolved(cidr)) throw new Error(`${owner}: systemAllowList entries must be literal CIDR blocks (WAF IP sets are split by IP version at synth time).`);
    const m4 = CIDR_V4.exec(cidr);
    if (m4 && isIPv4(m4[1]) && Number(m4[2]) >= 1 && Number(m4[2]) <= 32) {
      v4.push(cidr);
      continue;
    }
    const m6 = CIDR_V6.exec(cidr);
    if (m6 && isIPv6(m6[1]) && Number(m6[2]) >= 1 && Number(m6[2]) <= 128) {
      v6.push(cidr);
      continue;
    }
    throw new Error(`${owner}: systemAllowList entry "${cidr}" is not a CIDR block (e.g. 203.0.113.10/32 or 2001:db8::/48; prefix /1 to /32 for IPv4, /1 to /128 for IPv6).`);
  }
  return { v4, v6 };
}

function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: `FhirFirewall-${metricName}` };
}

const DECODE_LOWER: wafv2.CfnWebACL.TextTransformationProperty[] = [
  { priority: 0, type: 'URL_DECODE' },
  { priority: 1, type: 'LOWERCASE' },
];

const UNTRANSFORMED: wafv2.CfnWebACL.TextTransformationProperty[] = [{ priority: 0, type: 'NONE' }];

/**
 * `GET /<version>/auth/authorize` ({@link AUTHORIZE_EXEMPTION}): the method exactly, and the raw
 * path (untransformed, so no encoded or re-cased spelling) with one segment before `/auth/authorize`.
 */
const AUTHORIZE_ROUTE: wafv2.CfnWebACL.StatementProperty = {
  andStatement: {
    statements: [
      { byteMatchStatement: { fieldToMatch: { method: {} }, positionalConstraint: 'EXACTLY', searchString: AUTHORIZE_EXEMPTION.method, textTransformations: UNTRANSFORMED } },
      { regexMatchStatement: { fieldToMatch: { uriPath: {} }, regexString: AUTHORIZE_EXEMPTION.uriPathRegex, textTransformations: UNTRANSFORMED } },
    ],
  },
};

/** Blocks a request carrying `exception`'s label unless it is {@link AUTHORIZE_ROUTE}. */
function reblockUnlessAuthorize(exception: LabelException): wafv2.CfnWebACL.StatementProperty {
  return {
    andStatement: {
      statements: [
        { labelMatchStatement: { scope: 'LABEL', key: exception.label } },
        { notStatement: { statement: AUTHORIZE_ROUTE } },
      ],
    },
  };
}

/** The label exception of the common rule set's rule `rule`. */
function labelException(rule: string): LabelException {
  const found = LABEL_EXCEPTIONS.find((e) => e.rule === rule);
  if (!found) throw new Error(`FhirFirewall: no label exception for ${rule}`);
  return found;
}

/** A stage's literal name (its `CfnStage`'s), or its construct id when the name is a token. */
function stageLabel(stage: apigateway.Stage): string {
  const name = (stage.node.defaultChild as apigateway.CfnStage | undefined)?.stageName;
  return name !== undefined && !Token.isUnresolved(name) ? name : stage.node.id;
}

/** The stages of `props`, checked: exactly one of `stage`/`stages`, non-empty, each once, one REST API. */
function stagesOf(owner: string, props: FhirFirewallProps): readonly apigateway.Stage[] {
  if (props.stage !== undefined && props.stages !== undefined) {
    throw new Error(`${owner}: give either stage (one stage) or stages (every API version's stage), not both; put the stage into stages.`);
  }
  const stages = props.stages ?? (props.stage !== undefined ? [props.stage] : undefined);
  if (stages === undefined) throw new Error(`${owner}: no stage to protect; give stages (every API version's stage) or stage.`);
  if (stages.length === 0) throw new Error(`${owner}: stages is empty; list every API version's stage (at least one).`);
  if (stages.length > MAX_FIREWALL_STAGES) {
    throw new Error(`${owner}: stages lists ${stages.length} stages; one FhirFirewall protects at most ${MAX_FIREWALL_STAGES} (CloudWatch metric-math alarms read at most 10 metrics). Retire API versions first.`);
  }
  const ids = new Map<string, apigateway.Stage>();
  stages.forEach((stage, i) => {
    if (stages.indexOf(stage) !== i) throw new Error(`${owner}: stages lists ${stage.node.path} twice; list each stage once.`);
    if (stage.restApi !== stages[0].restApi) {
      throw new Error(`${owner}: stages ${stages[0].node.path} and ${stage.node.path} belong to different REST APIs; one FhirFirewall protects the stages of one API (use a firewall per API).`);
    }
    const suffix = stageIdSuffix(stage);
    const other = ids.get(suffix);
    if (other) throw new Error(`${owner}: stages ${other.node.path} and ${stage.node.path} have names that give the same construct id suffix "${suffix}"; give the stages names that differ in letters or digits.`);
    ids.set(suffix, stage);
  });
  return stages;
}

/** The construct-id suffix of a stage's association and alarms (its name, letters and digits only). */
function stageIdSuffix(stage: apigateway.Stage): string {
  return stageLabel(stage).replace(/[^A-Za-z0-9]/g, '') || 'Stage';
}

/**
 * The WAF in front of the FHIR API: a REGIONAL web ACL associated with every API Gateway stage
 * of the API (one per live API version), its logs, and a drift guard.
 *
 * Rules, in evaluation order (default action: allow):
 * 1. optional `GeoAllowList`: block countries not listed;
 * 2. optional `SystemAllowListExport` / `SystemAllowListClientCredentials`: block bulk `$export`
 *    and `client_credentials` token requests from outside `systemAllowList`;
 * 3. AWS `AmazonIpReputationList` (block) and `AnonymousIpList` (block, or count by config;
 *    allow-listed system clients exempt);
 * 4. `RateLimitPerIp`: block a source IP above `rateLimitPerIp` requests per 5 minutes;
 * 5. `BodySizeLimit`: block a body larger than `maxBodyBytes` or than WAF can inspect;
 * 6. AWS `CommonRuleSet` (its `SizeRestrictions_BODY` counted, replaced by rule 5; its
 *    `GenericRFI_QUERYARGUMENTS` and `SizeRestrictions_QUERYSTRING` counted, replaced by rule 7);
 * 7. `GenericRFIQueryArgumentsExceptAuthorize` / `QueryStringSizeExceptAuthorize`: block a request
 *    carrying the label of one of those two rules unless it is `GET /<version>/auth/authorize`
 *    (the SMART authorization endpoint: a native app's loopback `redirect_uri=http://127.0.0.1:…`
 *    is an IPv4 URL, and a launch's query can exceed 2 KB); `QueryStringSizeLimit`: block a query
 *    string over 8,192 bytes (the endpoint's own cap) anywhere;
 * 8. AWS `KnownBadInputsRuleSet`, `SQLiRuleSet`; every managed group blocking.
 * Every rule has CloudWatch metrics and sampled requests. API Gateway forwards the first 64 KiB
 * of a body (`AssociationConfig.RequestBody.API_GATEWAY = KB_64`, the largest it allows).
 *
 * Logs: every request, to a CMK-encrypted `aws-waf-logs-<stack>-…` log group kept at least six
 * years, with the `authorization` and `cookie` headers and the query string redacted (the query
 * of a FHIR search carries PHI such as names, birth dates and identifiers; the FHIR proxy's
 * AuditEvents record the request).
 *
 * Drift guard: a function (`lambdas/waf-guard`) run every 5 minutes checks every stage's
 * association, the rule groups, the rate rule, logging and redaction; it publishes, per stage
 * (dimension `StageArn`), one metric per drift kind and a failed-check metric. Alarms, to
 * `alarmTopic`: `NotAssociated` and `DifferentWebAcl` per stage (the alarm names the stage to
 * re-associate); the web ACL and logging kinds, which every stage shares, and the failed check
 * once each, over the maximum of every stage's metric (one cause, one alarm). With
 * `autoRemediate` it re-associates the web ACL with each drifted stage.
 */
export class FhirFirewall extends Construct {
  public readonly webAcl: wafv2.CfnWebACL;
  /** The stages protected, in the order given. */
  public readonly stages: readonly apigateway.Stage[];
  /** One association per stage, in the order of `stages`. */
  public readonly associations: readonly wafv2.CfnWebACLAssociation[];
  /** The first stage's association. */
  public readonly association: wafv2.CfnWebACLAssociation;
  public readonly logGroup: logs.LogGroup;
  public readonly loggingConfiguration: wafv2.CfnLoggingConfiguration;
  /** The IP sets of `systemAllowList` (one per IP version used). */
  public readonly systemAllowListIpSets: wafv2.CfnIPSet[] = [];
  /** The drift guard function. */
  public readonly guard: KitFunction;
  /** Runs the guard every 5 minutes. */
  public readonly schedule: events.Rule;
  /**
   * The drift alarms, to `alarmTopic`: `NotAssociated` and `DifferentWebAcl` for each stage (ids
   * `<kind>Alarm` for the first, `<kind>Alarm<stage name>` for the others), then one per shared
   * drift kind.
   */
  public readonly driftAlarms: cloudwatch.Alarm[] = [];
  /** Alarms when a guard check fails (WAF API errors) or the guard stops reporting for 15 minutes. */
  public readonly checkFailedAlarm: cloudwatch.Alarm;
  /** The effective body size limit of the `BodySizeLimit` rule. */
  public readonly maxBodyBytes: number;

  constructor(scope: Construct, id: string, props: FhirFirewallProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const owner = `FhirFirewall ${this.node.path}`;
    this.stages = stagesOf(owner, props);
    const environment = props.environment ?? 'sandbox';
    const retention = props.logRetention ?? logs.RetentionDays.SIX_YEARS;
    const anonymousIpAction = props.anonymousIpAction ?? 'block';
    const rateLimit = props.rateLimitPerIp ?? 1000;
    this.maxBodyBytes = props.maxBodyBytes ?? WAF_BODY_INSPECTION_LIMIT_BYTES;

    if (anonymousIpAction !== 'block' && anonymousIpAction !== 'count') {
      throw new Error(`${owner}: anonymousIpAction must be 'block' or 'count', got "${String(anonymousIpAction)}".`);
    }
    if (environment === 'production' && anonymousIpAction === 'count') {
      throw new Error(`${owner}: anonymousIpAction 'count' is not allowed in production; add backend clients' addresses to systemAllowList (exempt from the anonymous-IP group) instead.`);
    }
    if (!Token.isUnresolved(rateLimit) && (!Number.isInteger(rateLimit) || rateLimit < 10 || rateLimit > 2_000_000_000)) {
      throw new Error(`${owner}: rateLimitPerIp is ${rateLimit}; WAF accepts a whole number of requests per 5 minutes from 10 to 2,000,000,000.`);
    }
    if (!Token.isUnresolved(this.maxBodyBytes) && (!Number.isInteger(this.maxBodyBytes) || this.maxBodyBytes < 1 || this.maxBodyBytes > WAF_BODY_INSPECTION_LIMIT_BYTES)) {
      throw new Error(`${owner}: maxBodyBytes is ${this.maxBodyBytes}; it must be a whole number from 1 to ${WAF_BODY_INSPECTION_LIMIT_BYTES}. API Gateway forwards at most 64 KiB of a body to WAF: a larger limit could not be enforced and the rest of each body would reach the proxy uninspected.`);
    }
    const geo = props.geoAllowList;
    if (geo !== undefined) {
      if (geo.length === 0) throw new Error(`${owner}: geoAllowList is empty, which would block every request; leave it out for no geographic restriction.`);
      for (const code of geo) {
        if (!Token.isUnresolved(code) && !/^[A-Z]{2}$/.test(code)) throw new Error(`${owner}: geoAllowList entry "${code}" is not an ISO 3166-1 alpha-2 country code (e.g. "US").`);
      }
    }

    // --- IP sets of the system allow-list, one per IP version in use.
    let notAllowListed: wafv2.CfnWebACL.StatementProperty | undefined;
    if (props.systemAllowList !== undefined) {
      const { v4, v6 } = splitCidrs(owner, props.systemAllowList);
      const refs: wafv2.CfnWebACL.StatementProperty[] = [];
      const ipSet = (version: 'IPV4' | 'IPV6', addresses: string[]) => {
        const set = new wafv2.CfnIPSet(this, version === 'IPV4' ? 'SystemAllowListV4' : 'SystemAllowListV6', {
          scope: 'REGIONAL',
          ipAddressVersion: version,
          addresses,
          description: `Backend system/ clients allowed to call bulk export and the client credentials grant, ${version}`,
        });
        this.systemAllowListIpSets.push(set);
        refs.push({ ipSetReferenceStatement: { arn: set.attrArn } });
      };
      if (v4.length > 0 || v6.length === 0) ipSet('IPV4', v4);
      if (v6.length > 0) ipSet('IPV6', v6);
      notAllowListed = { notStatement: { statement: refs.length === 1 ? refs[0] : { orStatement: { statements: refs } } } };
    }

    // --- Rules, in priority order.
    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    const add = (rule: Omit<wafv2.CfnWebACL.RuleProperty, 'priority' | 'visibilityConfig'>) =>
      rules.push({ ...rule, priority: rules.length, visibilityConfig: visibility(rule.name) });
    const managed = (name: string, extra: Partial<wafv2.CfnWebACL.ManagedRuleGroupStatementProperty> = {}, count = false) =>
      add({
        name,
        overrideAction: count ? { count: {} } : { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ...extra } },
      });

    if (geo !== undefined) {
      add({
        name: FIREWALL_RULE_NAMES.geoAllowList,
        action: { block: {} },
        statement: { notStatement: { statement: { geoMatchStatement: { countryCodes: geo } } } },
      });
    }
    if (notAllowListed) {
      add({
        name: FIREWALL_RULE_NAMES.exportAllowList,
        action: { block: {} },
        statement: {
          andStatement: {
            statements: [
              { byteMatchStatement: { fieldToMatch: { uriPath: {} }, positionalConstraint: 'CONTAINS', searchString: '$export', textTransformations: DECODE_LOWER } },
              notAllowListed,
            ],
          },
        },
      });
      add({
        name: FIREWALL_RULE_NAMES.clientCredentialsAllowList,
        action: { block: {} },
        statement: {
          andStatement: {
            statements: [
              { byteMatchStatement: { fieldToMatch: { uriPath: {} }, positionalConstraint: 'CONTAINS', searchString: '/auth/token', textTransformations: DECODE_LOWER } },
              {
                orStatement: {
                  statements: [
                    // MATCH: a body WAF cannot see in full is treated as a client_credentials request.
                    { byteMatchStatement: { fieldToMatch: { body: { oversizeHandling: 'MATCH' } }, positionalConstraint: 'CONTAINS', searchString: 'client_credentials', textTransformations: DECODE_LOWER } },
                    { byteMatchStatement: { fieldToMatch: { queryString: {} }, positionalConstraint: 'CONTAINS', searchString: 'client_credentials', textTransformations: DECODE_LOWER } },
                  ],
                },
              },
              notAllowListed,
            ],
          },
        },
      });
    }
    managed(FIREWALL_RULE_NAMES.ipReputation);
    managed(FIREWALL_RULE_NAMES.anonymousIp, notAllowListed ? { scopeDownStatement: notAllowListed } : {}, anonymousIpAction === 'count');
    add({
      name: FIREWALL_RULE_NAMES.rateLimit,
      action: { block: {} },
      statement: { rateBasedStatement: { aggregateKeyType: 'IP', limit: rateLimit, evaluationWindowSec: 300 } },
    });
    add({
      name: FIREWALL_RULE_NAMES.bodySize,
      action: { block: {} },
      statement: {
        sizeConstraintStatement: {
          // MATCH: a body larger than the inspection limit counts as too large, so no body passes
          // that the managed rule groups could not inspect in full.
          fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
          comparisonOperator: 'GT',
          size: this.maxBodyBytes,
          textTransformations: UNTRANSFORMED,
        },
      },
    });
    // The label-match pattern AWS documents for managed rule groups: the two rules that would
    // block legitimate SMART launches only count, and the rules right after the group block their
    // labels on every other request, so everything else is protected exactly as before.
    const rfi = labelException('GenericRFI_QUERYARGUMENTS');
    const querySize = labelException('SizeRestrictions_QUERYSTRING');
    managed(FIREWALL_RULE_NAMES.common, {
      ruleActionOverrides: [COUNT_EXCEPTION.rule, rfi.rule, querySize.rule].map((name) => ({ name, actionToUse: { count: {} } })),
    });
    add({ name: FIREWALL_RULE_NAMES.genericRfiQueryArguments, action: { block: {} }, statement: reblockUnlessAuthorize(rfi) });
    add({ name: FIREWALL_RULE_NAMES.queryStringSize, action: { block: {} }, statement: reblockUnlessAuthorize(querySize) });
    add({
      name: FIREWALL_RULE_NAMES.queryStringSizeLimit,
      action: { block: {} },
      statement: {
        sizeConstraintStatement: {
          // Raw (percent-encoded) bytes: never fewer than the façade counts, so nothing over its cap passes.
          fieldToMatch: { queryString: {} },
          comparisonOperator: 'GT',
          size: AUTHORIZE_MAX_QUERY_STRING_BYTES,
          textTransformations: UNTRANSFORMED,
        },
      },
    });
    managed(FIREWALL_RULE_NAMES.knownBadInputs);
    managed(FIREWALL_RULE_NAMES.sqli);

    this.webAcl = new wafv2.CfnWebACL(this, 'Resource', {
      scope: 'REGIONAL',
      description: 'zero-trust-fhir: the FHIR API stage',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('WebAcl'),
      associationConfig: { requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: 'KB_64' } } },
      rules,
    });

    // The pack's managed-rule-group rule sees only the Count overrides, not the rules that
    // re-block their labels: the overrides are acknowledged here, with what still protects.
    for (const [exception, reblock] of [[rfi, FIREWALL_RULE_NAMES.genericRfiQueryArguments], [querySize, FIREWALL_RULE_NAMES.queryStringSize]] as const) {
      acknowledge(
        this.webAcl,
        `FHIR.HIPAA-WAFv2ManagedRuleGroups[CountOverride::${exception.group}::${exception.rule}]`,
        `${exception.rule} is counted only so that SMART launches reach GET /<version>/auth/authorize (a native app's loopback redirect_uri=http://127.0.0.1:<port>/… is an IPv4 URL; a launch's query can exceed 2 KB). `
        + `The rule ${reblock}, right after the group, blocks every other request carrying its label ${exception.label}, so every other route is protected as before. `
        + `The authorization endpoint checks its query itself (at most 32 parameters and 8192 characters, visible ASCII, each value bounded), returns no data (a redirect to Cognito managed login or an OAuth error), `
        + `and stays behind ${FIREWALL_RULE_NAMES.queryStringSizeLimit} (${AUTHORIZE_MAX_QUERY_STRING_BYTES} bytes), the rate-based rule and the other managed rules. The drift guard alarms (RuleGroupNotBlocking) if the re-blocking rules are removed or changed.`,
      );
    }

    // --- Associations, one per stage, each built from its stage so that it waits for it.
    this.associations = this.stages.map((stage, i) => {
      // The one-stage form keeps the id `Association`; with `stages`, every association is named
      // after its stage, so retiring a version (or reordering) never moves another's association.
      const association = new wafv2.CfnWebACLAssociation(this, i === 0 && props.stages === undefined ? 'Association' : `Association${stageIdSuffix(stage)}`, {
        resourceArn: stage.stageArn,
        webAclArn: this.webAcl.attrArn,
      });
      association.node.addDependency(stage);
      return association;
    });
    this.association = this.associations[0];

    // --- Logging, with redaction.
    this.logGroup = createAuditLogGroup(this, 'LogGroup', {
      encryptionKey: props.keys.logs,
      retention,
      logGroupName: `aws-waf-logs-${stack.stackName}-${this.node.addr.slice(0, 8)}`,
      owner,
    });
    this.loggingConfiguration = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // WAF takes the log group ARN without the `:*` suffix that `Fn::GetAtt Arn` returns.
      logDestinationConfigs: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: this.logGroup.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      redactedFields: [...REDACTED_HEADERS.map((name) => ({ singleHeader: { Name: name } })), { queryString: {} }],
    });

    // --- Drift guard.
    const remediate = props.autoRemediate ?? false;
    const stageArns = this.stages.map((stage) => stage.stageArn);
    const requiredGroups = anonymousIpAction === 'block' ? [...REQUIRED_MANAGED_RULE_GROUPS, ANONYMOUS_IP_RULE_GROUP] : [...REQUIRED_MANAGED_RULE_GROUPS];
    this.guard = new KitFunction(this, 'Guard', {
      handlerDir: 'waf-guard',
      description: 'WAF drift guard: association, rule groups, rate rule, logging of the FHIR API web ACL',
      logsKey: props.keys.logs,
      logRetention: retention,
      invocation: 'asynchronous',
      deadLetterKey: props.keys.audit,
      timeout: Duration.seconds(30),
      memorySize: 256,
      reservedConcurrentExecutions: 2,
      environment: wafGuardEnvironment(
        {
          stageArns,
          webAclArn: this.webAcl.attrArn,
          webAclName: Fn.select(2, Fn.split('/', this.webAcl.attrArn)),
          webAclId: this.webAcl.attrId,
          webAclScope: 'REGIONAL',
          remediate,
          metricNamespace: SECURITY_METRIC_NAMESPACE,
          requiredRuleGroups: requiredGroups,
        },
        { isUnresolved: (v) => Token.isUnresolved(v) },
      ),
    });
    // WAF's service authorization reference writes API Gateway stage ARNs with the account
    // (`arn:…:apigateway:<region>:<account>:/restapis/…`) while the ARN passed to WAF has none;
    // both spellings of each stage are listed so the grant holds whichever WAF evaluates.
    const stageResources = this.stages.flatMap((stage) => [
      stage.stageArn,
      `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:${Aws.ACCOUNT_ID}:/restapis/${stage.restApi.restApiId}/stages/${stage.stageName}`,
    ]);
    this.guard.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadExpectedWebAcl',
      actions: ['wafv2:GetWebACL', 'wafv2:GetLoggingConfiguration'],
      resources: [this.webAcl.attrArn],
    }));
    this.guard.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadStageAssociation',
      actions: ['wafv2:GetWebACLForResource'],
      resources: [this.webAcl.attrArn, ...stageResources],
    }));
    this.guard.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'PublishDriftMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': SECURITY_METRIC_NAMESPACE } },
    }));
    if (remediate) {
      this.guard.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'ReassociateExpectedWebAcl',
        actions: ['wafv2:AssociateWebACL'],
        resources: [this.webAcl.attrArn, ...stageResources],
      }));
      this.guard.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'SetWebAclOnStage',
        actions: ['apigateway:SetWebACL'],
        resources: stageArns,
      }));
    }
    acknowledge(
      this.guard.role.policy,
      'AwsSolutions-IAM5[Resource::*]',
      'Only cloudwatch:PutMetricData is granted on "*": it supports no resource-level permissions, and the statement is limited by a cloudwatch:namespace condition to the security metric namespace. Every WAF and API Gateway action in this policy names the web ACL and stage ARNs.',
    );
    acknowledge(
      this.guard.fn,
      'HIPAA.Security-LambdaInsideVPC',
      'The WAF drift guard calls only the regional WAF and CloudWatch control-plane APIs, for which the kit\'s isolated subnets have no interface endpoints; it reads web ACL configuration, never PHI, and its role grants nothing on HealthLake or any data store.',
    );

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Runs the WAF drift guard every 5 minutes',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(this.guard.fn, { retryAttempts: 2, maxEventAge: Duration.minutes(5) })],
    });

    // --- Alarms: association drift per stage (what to re-associate); the shared kinds and the
    // failed check once each, over every stage's metric (the maximum), so one cause is one alarm.
    const alarmAction = new cwActions.SnsAction(props.alarmTopic);
    const stageMetric = (metricName: string, stage: apigateway.Stage) =>
      new cloudwatch.Metric({ namespace: SECURITY_METRIC_NAMESPACE, metricName, dimensionsMap: { [STAGE_ARN_DIMENSION]: stage.stageArn }, statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(5) });
    const everyStage = (metricName: string): cloudwatch.IMetric =>
      this.stages.length === 1
        ? stageMetric(metricName, this.stages[0])
        : new cloudwatch.MathExpression({
          expression: `MAX([${this.stages.map((_s, i) => `s${i}`).join(', ')}])`,
          usingMetrics: Object.fromEntries(this.stages.map((stage, i) => [`s${i}`, stageMetric(metricName, stage)])),
          label: `${metricName} (any stage)`,
          period: Duration.minutes(5),
        });
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string, missing: cloudwatch.TreatMissingData, evaluationPeriods: number) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: missing,
      });
      a.addAlarmAction(alarmAction);
      a.addOkAction(alarmAction);
      return a;
    };
    this.stages.forEach((stage, i) => {
      for (const kind of STAGE_DRIFT_KINDS) {
        const description = this.stages.length === 1 ? DRIFT_DESCRIPTIONS[kind] : `${DRIFT_DESCRIPTIONS[kind]} Stage: ${stageLabel(stage)}.`;
        this.driftAlarms.push(alarm(`${kind}Alarm${i === 0 && props.stages === undefined ? '' : stageIdSuffix(stage)}`, stageMetric(driftMetricName(kind), stage), description, cloudwatch.TreatMissingData.NOT_BREACHING, 1));
      }
    });
    for (const kind of DRIFT_KINDS.filter((k) => !STAGE_DRIFT_KINDS.includes(k))) {
      this.driftAlarms.push(alarm(`${kind}Alarm`, everyStage(driftMetricName(kind)), DRIFT_DESCRIPTIONS[kind], cloudwatch.TreatMissingData.NOT_BREACHING, 1));
    }
    this.checkFailedAlarm = alarm(
      'CheckFailedAlarm',
      everyStage(CHECK_FAILED_METRIC),
      'WAF drift guard: a check could not run (WAF API throttling, access denied or error) for 15 minutes, or the guard stopped reporting. WAF protection of the FHIR API is unverified.',
      cloudwatch.TreatMissingData.BREACHING,
      3,
    );
  }
}

/** Drift kinds of one stage's association (alarmed per stage); the others are the web ACL's. */
const STAGE_DRIFT_KINDS: readonly DriftKind[] = ['NotAssociated', 'DifferentWebAcl'];

const DRIFT_DESCRIPTIONS: Record<DriftKind, string> = {
  NotAssociated: 'WAF drift: the FHIR API stage has no web ACL; requests reach the authorizer unfiltered.',
  DifferentWebAcl: 'WAF drift: the FHIR API stage is protected by a web ACL other than the one the kit deployed.',
  WebAclDeleted: 'WAF drift: the web ACL the kit deployed no longer exists.',
  RuleGroupMissing: 'WAF drift: a required AWS managed rule group was removed from the web ACL.',
  RuleGroupNotBlocking: 'WAF drift: a required AWS managed rule group (or one of its rules) was switched to Count.',
  RateRuleMissing: 'WAF drift: the web ACL no longer has a blocking rate-based rule.',
  LoggingRemoved: 'WAF drift: web ACL logging was removed or filtered.',
  RedactionRemoved: 'WAF drift: WAF logs no longer redact the authorization or cookie header (bearer tokens would be logged).',
};
