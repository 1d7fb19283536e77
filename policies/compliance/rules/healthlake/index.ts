export * from './HealthLakeCMKEncryption';
export * from './HealthLakeDataAccessScoped';
export * from './HealthLakeSandboxSyntheticData';
