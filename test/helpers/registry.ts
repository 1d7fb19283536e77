import type { RegisteredApp } from '../../policies/app-registry';

/**
 * A valid, parsed app registry entry (what `loadAppRegistry` returns): a low-tier public patient
 * app whose assessment expires on 2027-06-01; tests override what they are about.
 */
export function testApp(overrides: Partial<RegisteredApp> = {}): RegisteredApp {
  return {
    id: 'acme-portal',
    name: 'Acme Portal',
    vendor: 'Acme Inc.',
    identifier: { system: 'https://fhir.example.org/sid/smart-app', value: 'acme-portal' },
    tier: 'low',
    clientType: 'public',
    redirectUris: ['https://acme.example/callback'],
    scopes: ['openid', 'fhirUser', 'launch/patient', 'patient/Observation.rs'],
    baa: { reference: 'BAA-2026-0001', signed: '2026-05-01' },
    securityAssessment: { date: '2026-06-01', reviewer: 'R. Reviewer', expires: '2027-06-01' },
    throttle: { rateLimit: 50, burstLimit: 100, quotaPerDay: 100000 },
    labels: [],
    ...overrides,
  };
}
