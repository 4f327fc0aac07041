import { Token } from 'aws-cdk-lib';
import { InvalidArnError, PartialSecretArnError } from './errors.ts';

/** The parts of an ARN every check below needs. */
const ARN_HEAD = String.raw`arn:aws[a-z-]*:(?<service>[a-z0-9-]+):(?<region>[a-z]{2,}(?:-[a-z]+)+-\d+):(?<account>\d{12}):`;

/**
 * A complete Secrets Manager secret ARN: the secret name (1-512 of `A-Za-z0-9/_+=.@-`) ends in `-`
 * and the six random characters Secrets Manager appends. A partial ARN (no suffix) names no secret
 * IAM can match exactly, and `Secret.fromSecretCompleteArn` needs the complete one.
 */
const SECRET_ARN = new RegExp(`^${ARN_HEAD}secret:(?<name>[A-Za-z0-9/_+=.@-]{1,512})$`);
const COMPLETE_SUFFIX = /-[A-Za-z0-9]{6}$/;

/** A KMS key ARN (`...:key/<key id>`); alias ARNs do not match the key in IAM policies. */
const KMS_KEY_ARN = new RegExp(`^${ARN_HEAD}key/(?<keyId>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`);

/**
 * Checks that `arn` is a complete Secrets Manager secret ARN and returns it (tokens pass unchecked).
 *
 * @param setting - the prop or context key, named in the message
 * @throws {@link PartialSecretArnError} for an ARN without the six-character suffix
 * @throws {@link InvalidArnError} for anything else that is not a secret ARN
 */
export const validateSecretCompleteArn = (arn: string, setting: string): string => {
  if (Token.isUnresolved(arn)) return arn;
  const match = SECRET_ARN.exec(arn);
  if (!match || match.groups?.service !== 'secretsmanager') {
    throw new InvalidArnError(`${setting} "${arn}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)`);
  }
  if (!COMPLETE_SUFFIX.test(match.groups.name!)) {
    throw new PartialSecretArnError(
      `${setting} "${arn}" is a partial secret ARN: use the complete ARN, which ends in "-" and the six characters Secrets Manager appended ` +
        '(aws secretsmanager describe-secret --secret-id <name> --query ARN)',
    );
  }
  return arn;
};

/**
 * Checks that `arn` is a KMS key ARN (not an alias) and returns it (tokens pass unchecked).
 *
 * @throws {@link InvalidArnError} naming the setting
 */
export const validateKmsKeyArn = (arn: string, setting: string): string => {
  if (Token.isUnresolved(arn)) return arn;
  const match = KMS_KEY_ARN.exec(arn);
  if (!match || match.groups?.service !== 'kms') throw new InvalidArnError(`${setting} "${arn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)`);
  return arn;
};
