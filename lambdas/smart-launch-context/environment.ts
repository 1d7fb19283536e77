/**
 * The pre-token trigger's environment contract: {@link SmartLaunchContextEnvironment}, written by
 * `SmartIdentity` ({@link smartLaunchContextEnvironment}) and parsed by the handler
 * ({@link parseSmartLaunchContextEnvironment}). Writer errors name the setting, parser errors the
 * variable (`lambdas/shared/environment.ts`).
 *
 * | setting | variable | written as |
 * |---|---|---|
 * | `groupLabels` | `GROUP_LABELS` | JSON `{ "<Cognito group>": ["<label code>", …] }`: the security labels each group's members are cleared for |
 */
import { checked, type Check, optionalJson, writer, type EnvironmentWriterOptions } from '../shared/environment';
import { isObject } from '../shared/json';

/** Everything the launch-context trigger reads from its environment. */
export interface SmartLaunchContextEnvironment {
  /** Security-label codes each Cognito group's members are cleared for. @default - none */
  readonly groupLabels?: Readonly<Record<string, readonly string[]>>;
}

/** The most distinct label codes the groups may name (the `labels` claim stays small). */
export const MAX_GROUP_LABELS = 100;
const GROUP = /^[^\x00-\x1f\x7f]{1,128}$/;
const LABEL_CODE = /^[\x21-\x7e]{1,128}$/;

export const checkGroupLabels: Check<Readonly<Record<string, readonly string[]>>> = (groups) => {
  if (!isObject(groups)) return 'must be an object of Cognito group → label codes';
  const all = new Set<string>();
  for (const [group, labels] of Object.entries(groups)) {
    if (!GROUP.test(group)) return 'has a group name that is not 1–128 printable characters';
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string' && LABEL_CODE.test(l))) {
      return `${group} must be a list of label codes (1–128 printable ASCII characters, no spaces)`;
    }
    for (const l of labels) all.add(l);
  }
  return all.size > MAX_GROUP_LABELS ? `names more than ${MAX_GROUP_LABELS} distinct label codes` : undefined;
};

/**
 * The variables of `settings`.
 * @throws EnvironmentSettingError naming the setting that is invalid
 */
export function smartLaunchContextEnvironment(settings: SmartLaunchContextEnvironment, options: EnvironmentWriterOptions = {}): Record<string, string> {
  const w = writer(options);
  const out: Record<string, string> = {};
  if (settings.groupLabels !== undefined) {
    w.check('groupLabels', settings.groupLabels, checkGroupLabels);
    if (Object.keys(settings.groupLabels).length > 0) out.GROUP_LABELS = JSON.stringify(settings.groupLabels);
  }
  out.POWERTOOLS_SERVICE_NAME = 'smart-launch-context';
  return out;
}

/**
 * The settings in `env`.
 * @throws EnvironmentVariableError naming the variable that is invalid
 */
export function parseSmartLaunchContextEnvironment(env: NodeJS.ProcessEnv): SmartLaunchContextEnvironment {
  const groups = optionalJson(env, 'GROUP_LABELS');
  if (groups === undefined) return {};
  const parsed = checked('GROUP_LABELS', groups as Record<string, string[]>, checkGroupLabels);
  return Object.keys(parsed).length > 0 ? { groupLabels: parsed } : {};
}
