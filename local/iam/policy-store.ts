import { LOCAL_ACCOUNT, type LocalTemplate, localArn } from '../template.ts';
import { UnknownManagedPolicyError, UnknownRoleError, UnsupportedIamFeatureError } from './errors.ts';
import { listOf } from './evaluate.ts';
import { MANAGED_POLICIES } from './managed-policies.ts';
import type { IamPolicy, IamStatement } from './types.ts';

/** A role of the template. */
export interface IamRole {
  readonly logicalId: string;
  readonly roleName: string;
  readonly roleArn: string;
}

/** A function's identity: its execution role and the session its credentials belong to. */
export interface FunctionIdentity {
  readonly roleArn: string;
  readonly sessionArn: string;
}

/** The ARN of a role in the local account (IAM ARNs have no region). */
export const roleArnOf = (roleName: string): string => `arn:aws:iam::${LOCAL_ACCOUNT}:role/${roleName}`;

/** The assumed-role session ARN a function's credentials belong to (the session is named after the function). */
export const sessionArnOf = (roleName: string, sessionName: string): string => `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${roleName}/${sessionName}`;

interface ResolvedPolicies {
  readonly identity: Map<string, IamPolicy[]>;
  readonly resource: Map<string, IamPolicy>;
  readonly lambda: Map<string, IamPolicy>;
}

const FUNCTION_ARN = /^(arn:aws:lambda:[^:]+:[^:]+:function:[^:]+)(:.*)?$/;

/**
 * The template's IAM: each role's identity policies (inline `Policies`, `AWS::IAM::Policy`,
 * `AWS::IAM::ManagedPolicy` and AWS managed policies from the local catalogue), the resource
 * policies of queues and buckets, and `AWS::Lambda::Permission`s as each function's policy.
 *
 * Documents are resolved (intrinsic functions → local ARNs) on first use, or by {@link load},
 * because the resources they name get their local values as the emulators create them.
 */
export class IamPolicyStore {
  private readonly roles = new Map<string, IamRole>();
  private resolved: ResolvedPolicies | undefined;

  private constructor(private readonly template: LocalTemplate) {}

  /**
   * Reads the template's roles and registers their local values (`Ref` → name, `Arn`); checks what
   * can be checked before the resources exist: managed policies are known, no permissions boundary.
   */
  public static fromTemplate(template: LocalTemplate): IamPolicyStore {
    const store = new IamPolicyStore(template);
    for (const [logicalId, resource] of template.ofType('AWS::IAM::Role')) {
      const properties = resource.Properties ?? {};
      if (properties.PermissionsBoundary !== undefined) throw new UnsupportedIamFeatureError(logicalId, 'PermissionsBoundary');
      const roleName = properties.RoleName !== undefined ? template.resolveString(properties.RoleName, `${logicalId}.RoleName`) : logicalId;
      const role = { logicalId, roleName, roleArn: roleArnOf(roleName) };
      store.roles.set(logicalId, role);
      template.register(logicalId, { ref: roleName, attributes: { Arn: role.roleArn, RoleId: `AROA${logicalId.toUpperCase().slice(0, 17)}` } });
      for (const reference of listOf(properties.ManagedPolicyArns as unknown[] | undefined)) if (!store.isCustomerManaged(reference)) store.managedPolicy(logicalId, reference);
    }
    return store;
  }

  /** Every role of the template. */
  public get allRoles(): readonly IamRole[] {
    return [...this.roles.values()];
  }

  /** Resolves every document now (call once every resource has its local value); idempotent. */
  public load(): this {
    this.policies();
    return this;
  }

  /** The identity-based policies attached to a role (by ARN); none for an unknown role. */
  public identityPoliciesOf(roleArn: string): IamPolicy[] {
    return this.policies().identity.get(roleArn) ?? [];
  }

  /**
   * The resource-based policy of a resource: a queue's policy (by queue ARN), a bucket's policy
   * (by bucket or object ARN), a KMS key's key policy (by key ARN), a function's permissions (by
   * function ARN, qualified or not).
   */
  public resourcePolicyOf(resourceArn: string): IamPolicy | undefined {
    if (resourceArn.startsWith('arn:aws:s3:::')) return this.policies().resource.get(`arn:aws:s3:::${resourceArn.slice('arn:aws:s3:::'.length).split('/')[0]}`);
    if (FUNCTION_ARN.test(resourceArn)) return this.lambdaPermissionsOf(resourceArn);
    return this.policies().resource.get(resourceArn);
  }

  /** The function's `AWS::Lambda::Permission`s as its resource-based policy. */
  public lambdaPermissionsOf(functionArn: string): IamPolicy | undefined {
    const unqualified = FUNCTION_ARN.exec(functionArn)?.[1] ?? functionArn;
    return this.policies().lambda.get(unqualified);
  }

  /**
   * The role a function runs as (its `Role` property) and the assumed-role session of its
   * credentials, named after the function as Lambda names it.
   */
  public roleOfFunction(logicalId: string, functionName?: string): FunctionIdentity {
    const resource = this.template.resource(logicalId);
    const role = resource.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const roleId = role?.['Fn::GetAtt']?.[0];
    const found = roleId ? this.roles.get(roleId) : undefined;
    if (!found) throw new UnknownRoleError(logicalId, `Role must be Fn::GetAtt of an AWS::IAM::Role of this stack, got ${JSON.stringify(role)}`);
    const name = functionName ?? this.template.values.get(logicalId)?.ref ?? `Offload-${logicalId}`;
    return { roleArn: found.roleArn, sessionArn: sessionArnOf(found.roleName, name) };
  }

  /** Every action (or action pattern) a document of the template names, with where it is. */
  public actions(): { logicalId: string; action: string }[] {
    const out: { logicalId: string; action: string }[] = [];
    const { identity, resource, lambda } = this.policies();
    for (const policy of [...[...identity.values()].flat(), ...resource.values(), ...lambda.values()]) {
      for (const statement of listOf(policy.Statement)) {
        for (const action of [...listOf(statement.Action), ...listOf(statement.NotAction)]) out.push({ logicalId: policy.source ?? '(template)', action });
      }
    }
    return out;
  }

  /** Whether a `ManagedPolicyArns` entry is a `Ref` to an `AWS::IAM::ManagedPolicy` of the template. */
  private isCustomerManaged(reference: unknown): boolean {
    const id = (reference as { Ref?: string } | undefined)?.Ref;
    return id !== undefined && this.template.template.Resources[id]?.Type === 'AWS::IAM::ManagedPolicy';
  }

  /** An AWS managed policy document by its `ManagedPolicyArns` entry, or throws naming the role. */
  private managedPolicy(logicalId: string, reference: unknown): IamPolicy {
    const arn = this.template.resolveString(reference, `${logicalId}.ManagedPolicyArns`);
    const policy = MANAGED_POLICIES[arn];
    if (!policy) throw new UnknownManagedPolicyError(logicalId, arn);
    return { ...policy, source: arn };
  }

  private document(value: unknown, where: string): IamPolicy {
    const resolved = this.template.resolve(value, where) as IamPolicy;
    if (!resolved || typeof resolved !== 'object' || resolved.Statement === undefined) throw new UnsupportedIamFeatureError(where, 'a policy document without Statement');
    return { ...resolved, Statement: listOf(resolved.Statement) as IamStatement[], source: where };
  }

  private roleIdOf(reference: unknown, where: string): string {
    const id = (reference as { Ref?: string }).Ref;
    if (id && this.roles.has(id)) return id;
    const name = this.template.resolveString(reference, where);
    const role = [...this.roles.values()].find((candidate) => candidate.roleName === name);
    if (!role) throw new UnknownRoleError(where, `attaches to ${name}, which is not a role of this stack`);
    return role.logicalId;
  }

  private policies(): ResolvedPolicies {
    if (this.resolved) return this.resolved;
    const identity = new Map<string, IamPolicy[]>();
    const attach = (roleId: string, policy: IamPolicy) => {
      const arn = this.roles.get(roleId)!.roleArn;
      identity.set(arn, [...(identity.get(arn) ?? []), policy]);
    };
    for (const role of this.roles.values()) {
      const properties = this.template.resource(role.logicalId).Properties ?? {};
      identity.set(role.roleArn, []);
      for (const inline of listOf(properties.Policies as { PolicyName?: string; PolicyDocument: unknown }[] | undefined)) {
        attach(role.logicalId, this.document(inline.PolicyDocument, `${role.logicalId}.Policies.${inline.PolicyName ?? ''}`));
      }
      for (const reference of listOf(properties.ManagedPolicyArns as unknown[] | undefined)) {
        if (!this.isCustomerManaged(reference)) attach(role.logicalId, this.managedPolicy(role.logicalId, reference));
      }
    }
    for (const [logicalId, resource] of [...this.template.ofType('AWS::IAM::Policy'), ...this.template.ofType('AWS::IAM::ManagedPolicy')]) {
      const properties = resource.Properties ?? {};
      if (listOf(properties.Users as unknown[] | undefined).length || listOf(properties.Groups as unknown[] | undefined).length) {
        throw new UnsupportedIamFeatureError(logicalId, 'attaching a policy to users or groups');
      }
      const policy = this.document(properties.PolicyDocument, logicalId);
      const roleIds = new Set(listOf(properties.Roles as unknown[] | undefined).map((reference, index) => this.roleIdOf(reference, `${logicalId}.Roles.${index}`)));
      if (resource.Type === 'AWS::IAM::ManagedPolicy') {
        for (const role of this.roles.values()) {
          const arns = listOf(this.template.resource(role.logicalId).Properties?.ManagedPolicyArns as unknown[] | undefined);
          if (arns.some((reference) => (reference as { Ref?: string }).Ref === logicalId)) roleIds.add(role.logicalId);
        }
      }
      for (const roleId of roleIds) attach(roleId, policy);
    }

    const resourcePolicies = new Map<string, IamPolicy>();
    const addResourcePolicy = (arn: string, policy: IamPolicy) => {
      const existing = resourcePolicies.get(arn);
      resourcePolicies.set(arn, existing ? { ...existing, Statement: [...listOf(existing.Statement), ...listOf(policy.Statement)] } : policy);
    };
    for (const [logicalId, resource] of this.template.ofType('AWS::SQS::QueuePolicy')) {
      const policy = this.document(resource.Properties?.PolicyDocument, logicalId);
      for (const [index, reference] of listOf(resource.Properties?.Queues as unknown[] | undefined).entries()) {
        const queueId = (reference as { Ref?: string }).Ref;
        const url = this.template.resolveString(reference, `${logicalId}.Queues.${index}`);
        const arn =
          (queueId ? this.template.values.get(queueId)?.attributes.Arn : undefined) ?? [...this.template.values.values()].find((value) => value.attributes.QueueUrl === url)?.attributes.Arn;
        if (!arn) throw new UnsupportedIamFeatureError(logicalId, `a policy of ${url}, which is not a queue of this stack`);
        addResourcePolicy(arn, policy);
      }
    }
    for (const [logicalId, resource] of this.template.ofType('AWS::S3::BucketPolicy')) {
      const policy = this.document(resource.Properties?.PolicyDocument, logicalId);
      addResourcePolicy(`arn:aws:s3:::${this.template.resolveString(resource.Properties?.Bucket, `${logicalId}.Bucket`)}`, policy);
    }
    // A KMS key's key policy (by key ARN; the local KMS registers it). The local KMS also requires it to admit the caller.
    for (const [logicalId, resource] of this.template.ofType('AWS::KMS::Key')) {
      const arn = this.template.values.get(logicalId)?.attributes.Arn;
      if (arn === undefined || resource.Properties?.KeyPolicy === undefined) continue;
      addResourcePolicy(arn, this.document(resource.Properties.KeyPolicy, `${logicalId}.KeyPolicy`));
    }

    const lambda = new Map<string, IamPolicy>();
    for (const [logicalId, resource] of this.template.ofType('AWS::Lambda::Permission')) {
      const properties = resource.Properties ?? {};
      const target = this.template.resolveString(properties.FunctionName, `${logicalId}.FunctionName`);
      const functionArn = FUNCTION_ARN.exec(target)?.[1] ?? localArn('lambda', `function:${target}`);
      const principal = this.template.resolveString(properties.Principal, `${logicalId}.Principal`);
      for (const key of ['EventSourceToken', 'PrincipalOrgID', 'FunctionUrlAuthType', 'InvokedViaFunctionUrl']) {
        if (properties[key] !== undefined) throw new UnsupportedIamFeatureError(logicalId, `Lambda permission ${key}`);
      }
      const condition: NonNullable<IamStatement['Condition']> = {};
      if (properties.SourceArn !== undefined) condition.ArnLike = { 'AWS:SourceArn': this.template.resolveString(properties.SourceArn, `${logicalId}.SourceArn`) };
      if (properties.SourceAccount !== undefined) condition.StringEquals = { 'AWS:SourceAccount': this.template.resolveString(properties.SourceAccount, `${logicalId}.SourceAccount`) };
      const statement: IamStatement = {
        Sid: logicalId,
        Effect: 'Allow',
        Principal: principal === '*' ? '*' : principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: /^\d{12}$/.test(principal) ? `arn:aws:iam::${principal}:root` : principal },
        Action: this.template.resolveString(properties.Action, `${logicalId}.Action`),
        Resource: functionArn,
        ...(Object.keys(condition).length ? { Condition: condition } : {}),
      };
      const existing = lambda.get(functionArn);
      lambda.set(functionArn, { Version: '2012-10-17', Statement: [...(existing ? listOf(existing.Statement) : []), statement], source: `${functionArn} policy` });
    }
    this.resolved = { identity, resource: resourcePolicies, lambda };
    return this.resolved;
  }
}
