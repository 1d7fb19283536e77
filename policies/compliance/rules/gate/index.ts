export * from './ResourceEvaluated';
export * from './NoCrossEnvironmentReference';
export * from './ImportedResourceAttested';
