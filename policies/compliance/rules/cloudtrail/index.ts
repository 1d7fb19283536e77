export * from './CloudTrailCloudWatchLogs';
export * from './CloudTrailDataEvents';
export * from './CloudTrailMultiRegion';
