export * from './IAMNoPHIDataWildcard';
