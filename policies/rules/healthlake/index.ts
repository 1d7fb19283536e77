export * from './HealthLakeCMKEncryption';
export * from './HealthLakeDataAccessScoped';
