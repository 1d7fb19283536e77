export * from './model';
export * from './evidence';
export * from './cloud-assembly';
export * from './build';
export * from './html';
export * from './markdown';
export * from './write';
