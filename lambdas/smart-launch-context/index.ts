/**
 * Lambda entry point of the Cognito pre-token-generation trigger (V2_0, or V3_0 to also see
 * client-credentials grants): wires the environment to {@link createLaunchContextHandler}.
 *
 * The environment is the contract of `environment.ts` ({@link SmartLaunchContextEnvironment},
 * written by `SmartIdentity`, parsed here by {@link parseSmartLaunchContextEnvironment}).
 *
 * A configuration error is logged at cold start and every invocation then throws, so Cognito
 * refuses to issue tokens (fail closed) instead of issuing them without the launch context checks.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { parseSmartLaunchContextEnvironment } from './environment';
import { createLaunchContextHandler, LaunchContextEvent, LaunchContextHandler } from './launch-context';

const logger = new Logger({ serviceName: 'smart-launch-context' });

/** The trigger of an environment; throws naming the variable at fault. */
export function fromEnvironment(env: NodeJS.ProcessEnv): LaunchContextHandler {
  const s = parseSmartLaunchContextEnvironment(env);
  return createLaunchContextHandler({ groupLabels: s.groupLabels ?? {} });
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
