export * from './WAFv2LogRedaction';
export * from './WAFv2ManagedRuleGroups';
