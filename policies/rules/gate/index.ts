export * from './ResourceEvaluated';
