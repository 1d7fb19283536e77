export * from './KMSKeyPolicyNoWildcardPrincipal';
export * from './KMSKeyRetained';
export * from './KMSKeyRotation';
