export * from './SNSAlarmTopicSubscribed';
