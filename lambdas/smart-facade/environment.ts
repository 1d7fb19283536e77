/**
 * The SMART façade's environment contract, shared by the handler (`index.ts`, which reads it) and
 * the constructs that write it (`SmartIdentity`, `SmartAppRegistry`). Types only: importing this
 * module loads nothing.
 */

/** One registered app client, as an entry of the façade's `CLIENTS` variable (keyed by client id). */
export interface FacadeClientEnvironment {
  /** The client has a secret (may use `client_credentials`, and Basic at introspection). */
  readonly confidential: boolean;
  /** The client may introspect tokens of any registered client. */
  readonly introspection: boolean;
  /**
   * The app client's refresh-token validity, in whole seconds (Cognito: 3600 to 315360000): how
   * long a revoked sign-in (`origin_jti`) of this client must stay revoked.
   * @default - when absent, Cognito's longest (10 years): fail safe
   */
  readonly refreshTokenValiditySeconds?: number;
}

/** The façade's `CLIENTS` variable: JSON of this object. */
export type FacadeClientsEnvironment = Readonly<Record<string, FacadeClientEnvironment>>;
