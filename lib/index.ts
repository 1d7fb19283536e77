export * from './config';
export * from './fhir-keys';
export * from './segmented-network';
export * from './fhir-datastore';
export * from './healthlake-actions';
export * from './audit-trail';
export * from './zero-trust-fhir-stack';
