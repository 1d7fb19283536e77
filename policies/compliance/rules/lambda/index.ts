export * from './LambdaHealthLakeIsolated';
export * from './LambdaNoSecretsInEnvironment';
export * from './LambdaLogGroupDeclared';
export * from './LambdaApiVersionLifecycle';
