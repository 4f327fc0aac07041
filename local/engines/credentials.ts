/** Credentials the local engines accept (they do not verify signatures). */
export const localCredentials = { accessKeyId: 'LOCALKEY', secretAccessKey: 'localsecret' } as const;
