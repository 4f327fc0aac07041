import { execFile } from 'node:child_process';

/** One finding of `cfn-lint --format json`. */
export interface CfnLintMatch {
  readonly Rule: { readonly Id: string; readonly Description?: string };
  readonly Message: string;
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Location?: { readonly Path?: readonly (string | number)[] };
}

/** How to get cfn-lint: it is a Python tool (no Debian package exists; the machine image ships it). */
export const CFN_LINT_INSTALL = 'cfn-lint is not on PATH: install it with `pipx install cfn-lint` or `pip install cfn-lint` (Python 3.9+), then re-run';

/**
 * Runs `cfn-lint` (on PATH) on a template and returns its findings. cfn-lint's exit code is a bit
 * mask (2 errors, 4 warnings, 8 informational); 1 means it failed itself, which throws.
 *
 * @throws Error with {@link CFN_LINT_INSTALL} when cfn-lint is not installed
 */
export const cfnLint = (templateFile: string): Promise<CfnLintMatch[]> =>
  new Promise((resolve, reject) => {
    execFile('cfn-lint', ['--format', 'json', '--', templateFile], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = (error as (NodeJS.ErrnoException & { code?: unknown }) | null)?.code;
      if (code === 'ENOENT') return reject(new Error(CFN_LINT_INSTALL, { cause: error }));
      if (error && (typeof code !== 'number' || (code & 1) === 1)) return reject(new Error(`cfn-lint failed on ${templateFile}: ${stderr || error.message}`, { cause: error }));
      try {
        resolve(JSON.parse(stdout || '[]') as CfnLintMatch[]);
      } catch (parseError) {
        reject(new Error(`cfn-lint printed no JSON for ${templateFile}: ${stdout.slice(0, 500)}`, { cause: parseError }));
      }
    });
  });

/** One line per finding: `W3005 Resources/X/DependsOn: message`. */
export const describeMatches = (matches: readonly CfnLintMatch[]): string =>
  matches.map((match) => `${match.Rule.Id} ${(match.Location?.Path ?? []).join('/')}: ${match.Message}`).join('\n');
