export * from './ResourceEvaluated';
export * from './NoCrossEnvironmentReference';
