export * from './compliance/fhir-hipaa-checks';
