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
