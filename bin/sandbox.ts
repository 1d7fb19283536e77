#!/usr/bin/env node
/**
 * `npm run sandbox`: the kit on this machine, for SMART app developers. The kit's own SMART
 * façade, authorizer and FHIR proxy, unchanged, behind a local stand-in for API Gateway (one
 * HTTP-to-event adapter), with a local stand-in for Cognito's managed login and a local FHIR
 * server standing in for HealthLake, loaded with synthetic patients. Everything listens on
 * 127.0.0.1 only; AuditEvents are printed as the proxy writes them.
 *
 * Refuses to start with a staging or production configuration (`bin/sandbox/config.ts`).
 * Options: `npm run sandbox -- --help`.
 */
import type { AuditEvent } from 'fhir/r4';
import { resolveSandboxConfiguration, SandboxRefused, type SandboxConfiguration } from './sandbox/config';
import type { AccessLogEntry } from './sandbox/gateway';
import type { Sandbox } from './sandbox/sandbox';

/** The first line of the banner: the tests wait for it. */
export const BANNER_TITLE = 'zero-trust-fhir SANDBOX';

function auditLine(event: AuditEvent): string {
  const entities = event.entity ?? [];
  const target = entities.find((e) => e.role?.code === '4')?.what?.reference;
  const patient = entities.find((e) => e.role?.code === '1')?.what?.reference;
  const client = event.agent?.[0]?.who?.identifier?.value ?? '?';
  const requestId = (event.entity ?? []).find((e) => e.type?.code === 'XrequestId')?.what?.identifier?.value ?? '-';
  const verdict = event.outcome === '0' ? 'allowed' : `REFUSED (${event.outcomeDesc ?? `outcome ${event.outcome}`})`;
  return [
    `[audit] ${event.recorded}`,
    `${event.action} ${event.subtype?.[0]?.code ?? '?'}`,
    target ?? '',
    patient ? `patient=${patient}` : '',
    `client=${client}`,
    verdict,
    `request=${requestId}`,
  ]
    .filter((p) => p !== '')
    .join(' ');
}

function accessLine(entry: AccessLogEntry): string {
  return `[gateway] ${entry.requestTime} ${entry.httpMethod} ${entry.path} → ${entry.status} ${entry.authorizerError || 'refused'} (never reached the kit's handlers; the deployed gateway logs this in its access log, not as an AuditEvent) request=${entry.requestId}`;
}

function banner(sandbox: Sandbox, config: SandboxConfiguration): string {
  const users = sandbox.users.map((u) => `      ${u.username.padEnd(10)} ${u.displayName}`).join('\n');
  return [
    `${BANNER_TITLE}: SYNTHETIC DATA ONLY. Never put real patient data here; nothing here is a real service.`,
    `  FHIR base URL (iss):     ${sandbox.fhirBaseUrl}`,
    `  Sandbox client id:       ${sandbox.clientId}   (public client: authorization code + PKCE S256)`,
    `  Redirect URIs:           ${sandbox.redirectUris.join(' ')}`,
    `  Requestable scopes:      ${sandbox.requestableScopes.join(' ')}`,
    `  SMART configuration:     ${sandbox.fhirBaseUrl}/.well-known/smart-configuration`,
    `  Authorize (façade):      ${sandbox.authBaseUrl}/authorize (PKCE S256 and state required; sends the browser on to the sign-in)`,
    `  Token endpoint (façade): ${sandbox.authBaseUrl}/token`,
    `  Sign-in (Cognito stand-in): ${sandbox.cognitoDomainUrl}/oauth2/authorize (pick a synthetic user, or pass login_hint=<username>)`,
    `  Synthetic users:`,
    users,
    sandbox.authorizerCacheTtlSeconds > 0
      ? `  Authorizer cache: ${sandbox.authorizerCacheTtlSeconds} s, as deployed: a revoked token keeps working up to that long (--authorizer-cache-ttl 0 to see revocation at once)`
      : '  Authorizer cache: off (a revoked token is refused at once)',
    `  Environment: sandbox (${config.environmentSources.join('; ')}). Listening on 127.0.0.1 only.`,
    `  AuditEvents are printed below as the FHIR proxy writes them. Ctrl-C stops the sandbox.`,
  ].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(
      'npm run sandbox -- [--port 8787] [--cognito-port 8788] [--redirect-uri <url>]... [--authorizer-cache-ttl <0-300>] [--audit-json] [--cdk-json <file>]\n' +
        'Starts the kit locally on 127.0.0.1 with synthetic data. Refuses a staging or production configuration.',
    );
    return;
  }
  let config: SandboxConfiguration;
  try {
    config = resolveSandboxConfiguration(argv, process.env);
  } catch (err) {
    if (err instanceof SandboxRefused) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    throw err;
  }

  // Loaded only once the configuration is accepted.
  const { startSandbox } = await import('./sandbox/sandbox');
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  const sandbox = await startSandbox({
    port: config.port,
    cognitoPort: config.cognitoPort,
    redirectUris: config.redirectUris,
    authorizerCacheTtlSeconds: config.authorizerCacheTtlSeconds,
    onAudit: (event) => print(config.auditJson ? `[audit] ${JSON.stringify(event)}` : auditLine(event)),
    onAccess: (entry) => {
      if (entry.integrationLatency < 0 && entry.resourcePath !== '-') print(accessLine(entry));
    },
    logger: { info: (m) => print(`[kit] ${m}`), warn: (m) => print(`[kit] ${m}`) },
  }).catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      console.error(`A sandbox port is in use (--port ${config.port}, --cognito-port ${config.cognitoPort}). Choose others, or 0 for free ones.`);
      process.exit(1);
    }
    throw err;
  });
  print(banner(sandbox, config));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    print('Stopping the sandbox.');
    void sandbox.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
