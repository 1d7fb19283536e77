/**
 * Section 7 of the report, read from the templates: each KMS key and what it protects, each log
 * group and its retention (including the implicit `/aws/lambda/…` groups of functions that have
 * none in the template), and every route reachable without an authorizer.
 */
import { isAllowedPublicRoute, PUBLIC_ROUTE_METADATA_KEY } from '../../policies/compliance/public-routes';
import { MIN_RETENTION_DAYS } from '../config';
import { CloudAssemblyInput, metadataAt, ResourceInfo } from './cloud-assembly';
import { asNumber, asString, cmp, describeValue, referencedLogicalIds, referencingProperties } from './cfn';
import { CheckMark, Inventory, KeyRow, LogGroupRow, ResourceRef, RouteRow } from './model';

/**
 * The gate's result of `rule` on the resource at `path` (every mark the inventory shows comes
 * from here, so a red mark is always an unacknowledged finding).
 */
export type MarkOf = (rule: string, path: string) => CheckMark | undefined;

const noMarks: MarkOf = () => undefined;

function optional(check: CheckMark | undefined): { check?: CheckMark } {
  return check ? { check } : {};
}


const IAM_TYPES = new Set(['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group']);

export function refOf(r: ResourceInfo): ResourceRef {
  return { path: r.path ?? `${r.stack}/${r.logicalId}`, stack: r.stack, logicalId: r.logicalId, type: r.type };
}

/**
 * Resources of one stack, by logical id. A nested stack's parameter is followed to what its parent
 * passes (how CDK hands a nested stack the parent's references): a log group of a nested stack
 * whose `KmsKeyId` is `{ Ref: <parameter> }` references the parent's key, and the key protects it.
 */
export class StackIndex {
  private readonly byStack = new Map<string, Map<string, ResourceInfo>>();
  /** Nested stack id → its `AWS::CloudFormation::Stack` in the parent stack. */
  private readonly nestedResource = new Map<string, ResourceInfo>();
  constructor(public readonly resources: readonly ResourceInfo[]) {
    for (const r of resources) {
      if (!this.byStack.has(r.stack)) this.byStack.set(r.stack, new Map());
      this.byStack.get(r.stack)!.set(r.logicalId, r);
      if (r.nestedStack) this.nestedResource.set(r.nestedStack, r);
    }
  }
  get(stack: string, logicalId: string): ResourceInfo | undefined {
    return this.byStack.get(stack)?.get(logicalId);
  }
  ofType(type: string): ResourceInfo[] {
    return this.resources.filter((r) => r.type === type);
  }
  /** Resources of the same stack whose properties reference `target`, and those of its nested stacks that reference it through a parameter. */
  referencing(target: ResourceInfo): ResourceInfo[] {
    const out: ResourceInfo[] = [];
    const visit = (stack: string, ids: ReadonlySet<string>, depth: number): void => {
      for (const r of this.resources) {
        if (r.stack !== stack || r === target) continue;
        const refs = referencedLogicalIds(r.properties);
        if (![...ids].some((id) => refs.has(id))) continue;
        if (!r.nestedStack || depth >= 8) {
          out.push(r);
          continue;
        }
        // Passed on to a nested stack: the resources there that use the parameters it is passed in.
        const passed = (r.properties.Parameters ?? {}) as Record<string, unknown>;
        const parameters = new Set(Object.keys(passed).filter((p) => [...ids].some((id) => referencedLogicalIds(passed[p]).has(id))));
        const others = Object.entries(r.properties).filter(([k]) => k !== 'Parameters').some(([, v]) => [...ids].some((id) => referencedLogicalIds(v).has(id)));
        if (others || parameters.size === 0) out.push(r);
        if (parameters.size > 0) visit(r.nestedStack, parameters, depth + 1);
      }
    };
    visit(target.stack, new Set([target.logicalId]), 0);
    return out;
  }
  /** Resources `source`'s properties reference (through a nested stack's parameters, in its parent). */
  referencedBy(source: ResourceInfo, value: unknown = source.properties): ResourceInfo[] {
    const out: ResourceInfo[] = [];
    const visit = (stack: string, v: unknown, depth: number): void => {
      for (const id of referencedLogicalIds(v)) {
        const r = this.get(stack, id);
        if (r) {
          if (!out.includes(r)) out.push(r);
          continue;
        }
        const parent = this.nestedResource.get(stack);
        const passed = (parent?.properties.Parameters as Record<string, unknown> | undefined)?.[id];
        if (parent && passed !== undefined && depth < 8) visit(parent.stack, passed, depth + 1);
      }
    };
    visit(source.stack, value, 0);
    return out;
  }
}

function kmsKeys(index: StackIndex, mark: MarkOf): KeyRow[] {
  return index.ofType('AWS::KMS::Key').map((key) => {
    const users = index.referencing(key);
    const path = refOf(key).path;
    const aliases = users.filter((r) => r.type === 'AWS::KMS::Alias').map((r) => asString(r.properties.AliasName) ?? describeValue(r.properties.AliasName));
    const rotation = key.properties.EnableKeyRotation;
    return {
      resource: refOf(key),
      description: asString(key.properties.Description),
      aliases,
      rotation: typeof rotation === 'boolean' ? rotation : rotation === 'true' ? true : rotation === 'false' ? false : undefined,
      deletionPolicy: key.deletionPolicy,
      protects: users
        .filter((r) => r.type !== 'AWS::KMS::Alias' && !IAM_TYPES.has(r.type))
        .map((r) => ({ ...refOf(r), properties: referencingProperties(r, key.logicalId) })),
      grantedBy: users.filter((r) => IAM_TYPES.has(r.type)).map(refOf),
      checks: {
        rotation: mark('FHIR.HIPAA-KMSKeyRotation', path),
        retained: mark('FHIR.HIPAA-KMSKeyRetained', path),
        grants: mark('FHIR.HIPAA-KMSKeyCreateGrantRestricted', path),
      },
    };
  });
}

function logGroups(index: StackIndex, mark: MarkOf): LogGroupRow[] {
  const rows: LogGroupRow[] = index.ofType('AWS::Logs::LogGroup').map((group) => {
    const retention = group.properties.RetentionInDays;
    const days = retention === undefined ? null : asNumber(retention) ?? -1;
    const keyRef = index.referencedBy(group, group.properties.KmsKeyId).find((r) => r.type === 'AWS::KMS::Key');
    const kmsKeyValue = group.properties.KmsKeyId;
    return {
      resource: refOf(group),
      name: asString(group.properties.LogGroupName) ?? (group.properties.LogGroupName !== undefined ? describeValue(group.properties.LogGroupName) : undefined),
      retentionDays: days,
      meetsSixYears: days === null || days >= MIN_RETENTION_DAYS,
      kmsKey: keyRef ? refOf(keyRef).path : kmsKeyValue !== undefined ? describeValue(kmsKeyValue) : undefined,
      deletionPolicy: group.deletionPolicy,
      usedBy: index.referencing(group).filter((r) => !IAM_TYPES.has(r.type)).map(refOf),
      checks: {
        retention: mark('FHIR.HIPAA-LogGroupRetention', refOf(group).path),
        encryption: mark('FHIR.HIPAA-LogGroupCMKEncryption', refOf(group).path),
      },
    };
  });
  // Functions with no log group of their own in the template log to an implicit
  // `/aws/lambda/<name>` group: never expiring, not encrypted with a CMK.
  for (const fn of index.ofType('AWS::Lambda::Function')) {
    const loggingConfig = fn.properties.LoggingConfig as Record<string, unknown> | undefined;
    if (loggingConfig?.LogGroup !== undefined) continue;
    const own = index.referencing(fn).some((r) => r.type === 'AWS::Logs::LogGroup');
    if (own) continue;
    rows.push({
      resource: refOf(fn),
      name: '/aws/lambda/… (implicit: created by Lambda, not in the template)',
      retentionDays: null,
      meetsSixYears: true,
      kmsKey: undefined,
      usedBy: [],
      implicit: true,
      checks: { declared: mark('FHIR.HIPAA-LambdaLogGroupDeclared', refOf(fn).path) },
    });
  }
  return rows;
}

/** `/r4/metadata` for a REST API method's `ResourceId`. */
function restPath(index: StackIndex, stack: string, resourceId: unknown, depth = 0): string | undefined {
  if (depth > 64 || resourceId === null || typeof resourceId !== 'object') return undefined;
  const att = (resourceId as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(att) && att[1] === 'RootResourceId') return '/';
  const ref = (resourceId as Record<string, unknown>).Ref;
  if (typeof ref !== 'string') return undefined;
  const res = index.get(stack, ref);
  if (!res || res.type !== 'AWS::ApiGateway::Resource') return undefined;
  const part = asString(res.properties.PathPart);
  const parent = restPath(index, stack, res.properties.ParentId, depth + 1);
  if (part === undefined || parent === undefined) return undefined;
  return parent === '/' ? `/${part}` : `${parent}/${part}`;
}

function publicRouteReason(input: CloudAssemblyInput, constructPath: string): string | undefined {
  const candidates = [constructPath, constructPath.includes('/') ? constructPath.slice(0, constructPath.lastIndexOf('/')) : ''];
  for (const p of candidates) {
    for (const e of metadataAt(input, p, PUBLIC_ROUTE_METADATA_KEY)) {
      const data = e.data as { reason?: unknown } | undefined;
      if (data && typeof data.reason === 'string') return data.reason;
    }
  }
  return undefined;
}

function publicRoutes(input: CloudAssemblyInput, index: StackIndex, mark: MarkOf): RouteRow[] {
  const rows: RouteRow[] = [];
  const apiPath = (r: ResourceInfo, value: unknown): string => {
    const api = index.referencedBy(r, value)[0];
    return api ? refOf(api).path : describeValue(value);
  };
  for (const m of index.ofType('AWS::ApiGateway::Method')) {
    const auth = asString(m.properties.AuthorizationType) ?? (m.properties.AuthorizationType === undefined ? 'NONE' : describeValue(m.properties.AuthorizationType));
    if (auth.toUpperCase() !== 'NONE') continue;
    const method = (asString(m.properties.HttpMethod) ?? '?').toUpperCase();
    const p = restPath(index, m.stack, m.properties.ResourceId) ?? '(unresolved path)';
    const ref = refOf(m);
    rows.push({
      kind: 'rest',
      api: apiPath(m, m.properties.RestApiId),
      method,
      path: p,
      resource: ref,
      authorization: auth,
      reason: publicRouteReason(input, ref.path),
      allowed: isAllowedPublicRoute({ method, path: p }),
      corsPreflight: method === 'OPTIONS',
      ...(optional(mark('FHIR.HIPAA-APIGWMethodAuthorization', ref.path))),
    });
  }
  for (const route of index.ofType('AWS::ApiGatewayV2::Route')) {
    const auth = asString(route.properties.AuthorizationType) ?? 'NONE';
    if (auth.toUpperCase() !== 'NONE') continue;
    const key = asString(route.properties.RouteKey) ?? '? ?';
    const [method, p = key] = key.includes(' ') ? key.split(' ', 2) : [key];
    const ref = refOf(route);
    const check = mark('api_gw_v2_authorization_type_configured_check', ref.path);
    rows.push({
      kind: 'http', api: apiPath(route, route.properties.ApiId), method: method.toUpperCase(), path: p, resource: ref, authorization: auth,
      reason: publicRouteReason(input, ref.path), allowed: isAllowedPublicRoute({ method, path: p }), corsPreflight: method.toUpperCase() === 'OPTIONS',
      ...(check ? { check } : {}),
    });
  }
  for (const url of index.ofType('AWS::Lambda::Url')) {
    const auth = asString(url.properties.AuthType) ?? describeValue(url.properties.AuthType);
    if (auth.toUpperCase() !== 'NONE') continue;
    const ref = refOf(url);
    const check = mark('lambda_function_url_auth_check', ref.path);
    rows.push({
      kind: 'function-url', api: apiPath(url, url.properties.TargetFunctionArn), method: '*', path: '/*', resource: ref, authorization: auth,
      reason: publicRouteReason(input, ref.path), allowed: false, corsPreflight: false,
      ...(check ? { check } : {}),
    });
  }
  return rows.sort((a, b) => cmp(`${a.api} ${a.path} ${a.method}`, `${b.api} ${b.path} ${b.method}`));
}

export function buildInventory(input: CloudAssemblyInput, index: StackIndex = new StackIndex(input.resources), mark: MarkOf = noMarks): Inventory {
  return { kmsKeys: kmsKeys(index, mark), logGroups: logGroups(index, mark), publicRoutes: publicRoutes(input, index, mark) };
}
