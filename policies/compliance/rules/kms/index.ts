export * from './KMSKeyPolicyNoWildcardPrincipal';
export * from './KMSKeyRetained';
export * from './KMSKeyRotation';
export * from './KMSKeyCreateGrantRestricted';
