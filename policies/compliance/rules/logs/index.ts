export * from './LogGroupCMKEncryption';
export * from './LogGroupRetention';
