import type { S3OriginReader } from './cdn.ts';

/** A client token, as `POST /v1/tokens` answers. */
export interface MintedToken {
  readonly token: string;
  readonly expiresAt: string;
}

/** Lifetime of the dev token handed to the local dashboard (renewed by the page before it expires). */
export const DEV_TOKEN_TTL_SECONDS = 900 as const;

/**
 * Local runtime only: serves the dashboard's deployed `config.json` with a `devCredential` added,
 * a client token of the dev tenant minted through the real `POST /v1/tokens` each time the file is
 * requested, so that `npm start` opens a working dashboard without pasting a key. The page never
 * sees the dev tenant's API key; the answer is `no-store`, and being a same-origin resource without
 * CORS headers, other sites' pages cannot read it. Deployed stacks serve `config.json` as deployed,
 * with no credential.
 */
export const withDevCredential =
  (reader: S3OriginReader, target: { readonly bucket: string; readonly key: string }, mint: () => Promise<MintedToken>): S3OriginReader =>
  async (bucket, key, ifNoneMatch) => {
    if (bucket !== target.bucket || key !== target.key) return reader(bucket, key, ifNoneMatch);
    const deployed = await reader(bucket, key);
    if (deployed.status !== 200) return deployed;
    const config = JSON.parse(deployed.body.toString('utf8')) as Record<string, unknown>;
    const { token, expiresAt } = await mint();
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: Buffer.from(JSON.stringify({ ...config, devCredential: { token, expiresAt } })),
    };
  };

/** Mints a tenant-wide client token with an API key through the HTTP API. */
export const mintClientToken = async (httpApi: string, apiKey: string, ttlSeconds: number = DEV_TOKEN_TTL_SECONDS): Promise<MintedToken> => {
  const response = await fetch(`${httpApi}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ttlSeconds }),
  });
  if (response.status !== 201) throw new Error(`POST /v1/tokens answered ${response.status}`);
  return (await response.json()) as MintedToken;
};
