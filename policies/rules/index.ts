export * as apigw from './apigw';
export * as cloudtrail from './cloudtrail';
export * as cognito from './cognito';
export * as healthlake from './healthlake';
export * as kms from './kms';
export * as lambda from './lambda';
export * as logs from './logs';
export * as waf from './waf';
