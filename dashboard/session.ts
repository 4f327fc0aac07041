/**
 * Where the dashboard's settings and credential come from.
 *
 * `config.json` sits next to the page: deployed by the stack (the WebSocket URL), or served by the
 * local runtime, which adds a short-lived client token for its dev tenant minted when the file is
 * requested. A credential typed in by the user is kept in this tab's `sessionStorage` only (never
 * `localStorage`, never a cookie) and is sent to this site's own API only.
 */

/** `config.json`. */
export interface DashboardConfig {
  /** The WebSocket API URL (`wss://…/live`). */
  readonly webSocketUrl: string;
  /** Local runtime only: a client token of the dev tenant, minted when config.json was served. */
  readonly devCredential?: { readonly token: string; readonly expiresAt: string };
}

/** Where the credential in use came from. */
export type CredentialSource = 'session' | 'dev';

export const STORAGE_KEY = 'offload.dashboard.credential' as const;
/** Set on sign-out, so that a reload does not sign back in with the dev credential. */
const SIGNED_OUT_KEY = 'offload.dashboard.signedOut' as const;
/** A dev token this close to its expiry is replaced by a fresh one from config.json. */
const REFRESH_MARGIN_MS = 60_000;

/** Fetches and checks `config.json` (relative to the page). */
export const loadConfig = async (url = 'config.json'): Promise<DashboardConfig> => {
  const response = await fetch(url, { cache: 'no-store', credentials: 'omit' });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const body = (await response.json()) as Partial<DashboardConfig>;
  if (typeof body.webSocketUrl !== 'string' || !/^wss?:\/\//.test(body.webSocketUrl)) throw new Error('config.json has no valid webSocketUrl');
  const dev = body.devCredential;
  return {
    webSocketUrl: body.webSocketUrl,
    ...(dev && typeof dev.token === 'string' && typeof dev.expiresAt === 'string' ? { devCredential: { token: dev.token, expiresAt: dev.expiresAt } } : {}),
  };
};

/** The credential the dashboard signs its requests with. */
export class CredentialSession {
  private dev: DashboardConfig['devCredential'];
  private source: CredentialSource | undefined;

  public constructor(
    private config: DashboardConfig,
    private readonly storage: Storage = sessionStorage,
    private readonly reload: () => Promise<DashboardConfig> = () => loadConfig(),
  ) {
    this.dev = config.devCredential;
    this.source = this.storage.getItem(STORAGE_KEY) ? 'session' : this.dev && !this.storage.getItem(SIGNED_OUT_KEY) ? 'dev' : undefined;
  }

  /** Whether a dev credential is on offer (local runtime). */
  public get hasDevCredential(): boolean {
    return this.dev !== undefined;
  }

  /** `session`, `dev`, or undefined when signed out. */
  public get current(): CredentialSource | undefined {
    return this.source;
  }

  /** A human-readable description of the credential in use. */
  public describe(): string {
    if (this.source === 'session') {
      const value = this.storage.getItem(STORAGE_KEY) ?? '';
      return `${value.startsWith('ofk_') ? 'API key' : 'client token'} …${value.slice(-4)} (this tab only)`;
    }
    if (this.source === 'dev' && this.dev) return `local dev tenant (client token, renewed before ${new Date(this.dev.expiresAt).toLocaleTimeString()})`;
    return 'signed out';
  }

  /** Uses a credential typed in by the user, kept in this tab's sessionStorage. */
  public signIn(credential: string): void {
    const value = credential.trim();
    if (!/^[\x21-\x7e]{8,4096}$/.test(value)) throw new Error('That does not look like an API key or client token.');
    this.storage.setItem(STORAGE_KEY, value);
    this.storage.removeItem(SIGNED_OUT_KEY);
    this.source = 'session';
  }

  /** Uses the local runtime's dev credential. */
  public useDev(): void {
    if (!this.dev) throw new Error('No dev credential is on offer here.');
    this.storage.removeItem(STORAGE_KEY);
    this.storage.removeItem(SIGNED_OUT_KEY);
    this.source = 'dev';
  }

  /** Forgets the stored credential. */
  public signOut(): void {
    this.storage.removeItem(STORAGE_KEY);
    this.storage.setItem(SIGNED_OUT_KEY, '1');
    this.source = undefined;
  }

  /** The credential to send now (the SDK calls this before every request and connection). */
  public async credential(): Promise<string> {
    if (this.source === 'session') {
      const value = this.storage.getItem(STORAGE_KEY);
      if (value) return value;
    }
    if (this.source === 'dev' && this.dev) {
      if (Date.parse(this.dev.expiresAt) - Date.now() < REFRESH_MARGIN_MS) {
        this.config = await this.reload();
        this.dev = this.config.devCredential;
        if (!this.dev) throw new Error('The dev credential is no longer offered.');
      }
      return this.dev.token;
    }
    throw new Error('Signed out.');
  }
}
