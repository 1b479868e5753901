/** The scopes CONTRACT.md defines. */
export const SCOPES = ['accounts:write', 'orders:write', 'orders:read:all'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling, as proven by a verified access token. */
export interface Caller {
  /** The token's `sub`: a person or a downstream team such as `recon`. */
  readonly sub: string;
  readonly scopes: ReadonlySet<string>;
  /** Account ids the caller holds. */
  readonly accounts: ReadonlySet<string>;
  readonly expiresAt: Date;
}

export const hasScope = (caller: Caller, scope: Scope): boolean => caller.scopes.has(scope);
