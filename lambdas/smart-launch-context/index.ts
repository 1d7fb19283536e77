/**
 * Lambda entry point of the Cognito pre-token-generation trigger (V2_0, or V3_0 to also see
 * client-credentials grants): wires the environment to {@link createLaunchContextHandler}.
 *
 * Environment:
 * - `GROUP_LABELS` (optional): JSON object `{ "<Cognito group>": ["<label code>", …] }`, the
 *   security labels each group's members are cleared for.
 *
 * A configuration error is logged at cold start and every invocation then throws, so Cognito
 * refuses to issue tokens (fail closed) instead of issuing them without the launch context checks.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createLaunchContextHandler, LaunchContextEvent, LaunchContextHandler } from './launch-context';

const logger = new Logger({ serviceName: 'smart-launch-context' });

function fromEnvironment(env: NodeJS.ProcessEnv): LaunchContextHandler {
  const raw = env.GROUP_LABELS;
  const groupLabels: unknown = raw ? JSON.parse(raw) : {};
  return createLaunchContextHandler({ groupLabels: groupLabels as Record<string, string[]> });
}

let launchContext: LaunchContextHandler | undefined;
try {
  launchContext = fromEnvironment(process.env);
} catch (err) {
  logger.error('Launch-context trigger configuration is invalid; every sign-in will be refused', {
    error: err instanceof Error ? err.message : 'unknown',
  });
}

export async function handler<E extends LaunchContextEvent>(event: E): Promise<E> {
  if (!launchContext) throw new Error('Sign-in refused');
  try {
    return await launchContext(event);
  } catch (err) {
    // The reason never contains attribute values; log it and let Cognito refuse the sign-in.
    logger.warn('Sign-in refused', { reason: err instanceof Error ? err.message : 'unknown', triggerSource: event?.triggerSource });
    throw new Error('Sign-in refused');
  }
}
