export * from './LambdaHealthLakeIsolated';
export * from './LambdaNoSecretsInEnvironment';
export * from './LambdaLogGroupDeclared';
