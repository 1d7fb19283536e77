/**
 * Section 6: the request path and the audit paths, as found in the synthesized templates.
 * Each node is a kind of resource looked for by CloudFormation type (and, for the proxy, by what
 * it is allowed to do); each edge is checked for the reference, association or IAM condition that
 * makes it real. Nodes that do not exist are kept, marked absent, so the picture shows the gaps.
 */
import { ResourceInfo } from './cloud-assembly';
import { statementCallsHealthLake, statementsOf } from '../../policies/compliance/rules/common/iam';
import { referencedLogicalIds } from './cfn';
import { refOf, StackIndex } from './inventory';
import { DataFlow, FlowEdge, FlowNode, FlowNodeId } from './model';

function isHealthLakeEndpoint(r: ResourceInfo): boolean {
  return r.type === 'AWS::EC2::VPCEndpoint' && JSON.stringify(r.properties.ServiceName ?? '').toLowerCase().includes('healthlake');
}

/** Policy documents that apply to a role: inline, attached customer-managed, and separate `AWS::IAM::Policy`s. */
function rolePolicyDocuments(index: StackIndex, role: ResourceInfo): unknown[] {
  const docs: unknown[] = [];
  const inline = role.properties.Policies;
  if (Array.isArray(inline)) for (const p of inline) docs.push((p as Record<string, unknown>)?.PolicyDocument);
  for (const managed of index.referencedBy(role, role.properties.ManagedPolicyArns)) {
    if (managed.type === 'AWS::IAM::ManagedPolicy') docs.push(managed.properties.PolicyDocument);
  }
  for (const r of index.referencing(role)) {
    if ((r.type === 'AWS::IAM::Policy' || r.type === 'AWS::IAM::ManagedPolicy') && referencedLogicalIds(r.properties.Roles).has(role.logicalId)) {
      docs.push(r.properties.PolicyDocument);
    }
  }
  return docs;
}

function functionPolicyDocuments(index: StackIndex, fn: ResourceInfo): unknown[] {
  const role = index.referencedBy(fn, fn.properties.Role).find((r) => r.type === 'AWS::IAM::Role');
  return role ? rolePolicyDocuments(index, role) : [];
}

/** Any statement allows HealthLake calls, as the FHIR.HIPAA rules decide it (wildcards and `NotAction` included). */
function grantsHealthLake(docs: unknown[]): boolean {
  return docs.some((d) => statementsOf(d).some(statementCallsHealthLake));
}

/** Finds the nodes and edges of the data flow. */
export function buildDataFlow(index: StackIndex): DataFlow {
  const ofType = (...types: string[]): ResourceInfo[] => index.resources.filter((r) => types.includes(r.type));

  const wafs = ofType('AWS::WAFv2::WebACL');
  const apis = ofType('AWS::ApiGateway::RestApi', 'AWS::ApiGatewayV2::Api');
  const authorizers = ofType('AWS::ApiGateway::Authorizer', 'AWS::ApiGatewayV2::Authorizer');
  const userPools = ofType('AWS::Cognito::UserPool');
  const datastores = ofType('AWS::HealthLake::FHIRDatastore');
  const endpoints = index.resources.filter(isHealthLakeEndpoint);
  const functions = ofType('AWS::Lambda::Function');
  const methods = ofType('AWS::ApiGateway::Method');
  const trails = ofType('AWS::CloudTrail::Trail');

  // The proxy: a function behind an authorized API method, preferably one allowed to call HealthLake.
  const healthLakeFns = functions.filter((fn) => grantsHealthLake(functionPolicyDocuments(index, fn)));
  const authorizedMethods = methods.filter((m) => String(m.properties.AuthorizationType ?? 'NONE').toUpperCase() !== 'NONE');
  const behindApi = functions.filter((fn) => authorizedMethods.some((m) => referencedLogicalIds(m.properties.Integration).has(fn.logicalId)));
  let proxies = behindApi.filter((fn) => healthLakeFns.includes(fn));
  if (proxies.length === 0) proxies = healthLakeFns.length > 0 ? healthLakeFns : behindApi;
  if (proxies.length === 0) proxies = functions.filter((fn) => /proxy/i.test(fn.path ?? fn.logicalId));

  // Audit sinks.
  const logGroups = ofType('AWS::Logs::LogGroup');
  const auditEventGroups = logGroups.filter((g) =>
    proxies.some((fn) => referencedLogicalIds(fn.properties.Environment).has(g.logicalId) || functionPolicyDocuments(index, fn).some((d) => referencedLogicalIds(d).has(g.logicalId))),
  );
  const auditEvents = auditEventGroups.length > 0 ? auditEventGroups : logGroups.filter((g) => /audit-?event/i.test(g.path ?? g.logicalId));
  const stages = ofType('AWS::ApiGateway::Stage', 'AWS::ApiGatewayV2::Stage');
  const accessLogs = logGroups.filter((g) => stages.some((s) => referencedLogicalIds(s.properties.AccessLogSetting ?? s.properties.AccessLogSettings).has(g.logicalId)));
  const wafLogging = ofType('AWS::WAFv2::LoggingConfiguration');
  const wafLogSinks = [...wafLogging, ...wafLogging.flatMap((c) => index.referencedBy(c, c.properties.LogDestinationConfigs))];
  const trailStorage = trails.flatMap((t) => index.referencedBy(t, [t.properties.S3BucketName, t.properties.CloudWatchLogsLogGroupArn]))
    .filter((r) => r.type === 'AWS::S3::Bucket' || r.type === 'AWS::Logs::LogGroup');
  const flowLogs = ofType('AWS::EC2::FlowLog');
  const flowSinks = [...flowLogs, ...flowLogs.flatMap((f) => index.referencedBy(f, [f.properties.LogGroupName, f.properties.LogDestination]))];

  const node = (id: FlowNodeId, label: string, kind: FlowNode['kind'], found: ResourceInfo[], lookedFor: string): FlowNode => ({
    id, label, kind, present: found.length > 0, resources: unique(found).map(refOf), lookedFor,
  });
  const nodes: FlowNode[] = [
    { id: 'client', label: 'SMART client', kind: 'external', present: true, resources: [], lookedFor: 'outside the app' },
    node('identity', 'Cognito sign-in', 'identity', userPools, 'AWS::Cognito::UserPool'),
    node('waf', 'WAF web ACL', 'request', wafs, 'AWS::WAFv2::WebACL'),
    node('api', 'API Gateway', 'request', apis, 'AWS::ApiGateway::RestApi'),
    node('authorizer', 'SMART authorizer', 'request', authorizers, 'AWS::ApiGateway::Authorizer'),
    node('proxy', 'FHIR proxy', 'request', proxies, 'AWS::Lambda::Function behind an authorized method, allowed healthlake:*'),
    node('vpce', 'VPC endpoint', 'request', endpoints, 'AWS::EC2::VPCEndpoint for HealthLake'),
    node('healthlake', 'HealthLake', 'request', datastores, 'AWS::HealthLake::FHIRDatastore'),
    node('waf-logs', 'WAF logs', 'audit', wafLogSinks, 'AWS::WAFv2::LoggingConfiguration'),
    node('access-logs', 'API access logs', 'audit', accessLogs, 'AWS::Logs::LogGroup as a stage access-log destination'),
    node('audit-events', 'AuditEvents', 'audit', auditEvents, 'AWS::Logs::LogGroup the proxy writes to'),
    node('flow-logs', 'VPC flow logs', 'audit', flowSinks, 'AWS::EC2::FlowLog'),
    node('trail', 'CloudTrail', 'audit', trails, 'AWS::CloudTrail::Trail'),
    node('trail-storage', 'Trail storage', 'audit', trailStorage, 'the trail\'s S3 bucket and CloudWatch log group'),
  ];
  const present = new Map(nodes.map((n) => [n.id, n.present]));

  const anyRef = (from: ResourceInfo[], to: ResourceInfo[], pick: (r: ResourceInfo) => unknown = (r) => r.properties): boolean =>
    from.some((f) => { const ids = referencedLogicalIds(pick(f)); return to.some((t) => t.stack === f.stack && ids.has(t.logicalId)); });

  const associations = ofType('AWS::WAFv2::WebACLAssociation');
  const apiStages = [...apis, ...stages];
  const wafToApi = associations.some((a) => anyRef([a], wafs, (r) => r.properties.WebACLArn) && anyRef([a], apiStages, (r) => r.properties.ResourceArn));
  const apiToAuthorizer = anyRef(authorizers, apis, (r) => r.properties.RestApiId ?? r.properties.ApiId);
  const authorizerToProxy = methods.some((m) => anyRef([m], authorizers, (r) => r.properties.AuthorizerId) && anyRef([m], proxies, (r) => r.properties.Integration));
  const proxyDocs = proxies.flatMap((fn) => functionPolicyDocuments(index, fn));
  const proxyInVpc = proxies.some((fn) => fn.properties.VpcConfig !== undefined);
  const scopedToEndpoint = proxyDocs.some((d) => endpoints.some((e) => referencedLogicalIds(d).has(e.logicalId)));
  const scopedToDatastore = proxyDocs.some((d) => datastores.some((s) => referencedLogicalIds(d).has(s.logicalId)));
  const identityToAuthorizer = authorizers.some((a) => anyRef([a], userPools)) || functions.some((fn) => anyRef([fn], userPools, (r) => r.properties.Environment) && anyRef(authorizers, [fn]));

  const edge = (from: FlowNodeId, to: FlowNodeId, kind: FlowEdge['kind'], verified: boolean, label?: string): FlowEdge => {
    const both = Boolean(present.get(from) && present.get(to));
    return { from, to, kind, present: both, verified: both && verified, ...(label ? { label } : {}) };
  };
  const edges: FlowEdge[] = [
    edge('client', 'identity', 'identity', present.get('identity') === true, 'sign in: code + PKCE'),
    edge('identity', 'authorizer', 'identity', identityToAuthorizer, 'access token'),
    edge('client', 'waf', 'request', present.get('waf') === true, 'HTTPS'),
    edge('waf', 'api', 'request', wafToApi, 'associated'),
    edge('api', 'authorizer', 'request', apiToAuthorizer),
    edge('authorizer', 'proxy', 'request', authorizerToProxy, 'allow'),
    edge('proxy', 'vpce', 'request', proxyInVpc && scopedToEndpoint, 'SigV4'),
    edge('vpce', 'healthlake', 'request', scopedToEndpoint && scopedToDatastore, 'SourceVpce'),
    edge('waf', 'waf-logs', 'audit', wafLogging.some((c) => anyRef([c], wafs, (r) => r.properties.ResourceArn))),
    edge('api', 'access-logs', 'audit', accessLogs.length > 0),
    edge('proxy', 'audit-events', 'audit', auditEventGroups.length > 0),
    edge('vpce', 'flow-logs', 'audit', flowLogs.length > 0),
    edge('healthlake', 'trail', 'audit', trails.some((t) => JSON.stringify([t.properties.EventSelectors ?? [], t.properties.AdvancedEventSelectors ?? []]).toLowerCase().includes('healthlake')), 'data events'),
    edge('trail', 'trail-storage', 'audit', trailStorage.length > 0),
  ];
  return { nodes, edges };
}

function unique<T>(list: T[]): T[] {
  return [...new Set(list)];
}
