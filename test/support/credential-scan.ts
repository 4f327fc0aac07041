import { readFileSync } from 'node:fs';

/**
 * The forms a credential could take in a log line: as is, URL-encoded, JSON-escaped, and inside
 * base64 or base64url text at any of the three byte alignments (the middle of the encoding, which
 * does not depend on what surrounds the credential).
 */
export const credentialForms = (secret: string): string[] => {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), Buffer.from(secret)]).toString('base64');
    const middle = encoded.slice(shift ? 4 : 0, -4);
    if (middle.length >= 16) {
      forms.add(middle);
      forms.add(middle.replaceAll('+', '-').replaceAll('/', '_'));
    }
  }
  return [...forms];
};

/** Every occurrence of any form of any named credential in a text: `name (form #i): …context…`. */
export const findCredentials = (text: string, credentials: Readonly<Record<string, string>>): string[] => {
  const hits: string[] = [];
  for (const [name, secret] of Object.entries(credentials)) {
    credentialForms(secret).forEach((form, index) => {
      let at = text.indexOf(form);
      while (at >= 0) {
        hits.push(`${name} (form #${index}): …${text.slice(Math.max(0, at - 80), at).replace(/\s+/g, ' ')}[CREDENTIAL]…`);
        at = text.indexOf(form, at + form.length);
      }
    });
  }
  return hits;
};

/** What {@link scanLogFiles} read and found. */
export interface LogScan {
  /** Every file scanned, with its size in bytes (so a caller can assert the scan was not vacuous). */
  readonly files: { readonly file: string; readonly bytes: number }[];
  /** Every credential found, as `file: name (form #i): …context…`. */
  readonly hits: string[];
}

/** Reads each log file and scans it for every form of every named credential. */
export const scanLogFiles = (files: readonly string[], credentials: Readonly<Record<string, string>>): LogScan => {
  const scanned: { file: string; bytes: number }[] = [];
  const hits: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    scanned.push({ file, bytes: Buffer.byteLength(text) });
    hits.push(...findCredentials(text, credentials).map((hit) => `${file}: ${hit}`));
  }
  return { files: scanned, hits };
};
