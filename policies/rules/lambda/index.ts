export * from './LambdaHealthLakeIsolated';
export * from './LambdaNoSecretsInEnvironment';
