import { Aspects, type IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct, type IConstruct } from 'constructs';
import { InvalidEmailAddressError } from '../errors.ts';

/** Props of {@link OffloadAlarmTopic}. */
export interface OffloadAlarmTopicProps {
  /** An e-mail address subscribed to the topic (AWS sends it a confirmation link first). @default no subscription */
  readonly alarmEmail?: string;
}

/** A plain `local@domain.tld` address: no spaces, one `@`, a dot in the domain, at most 254 characters. */
const EMAIL_ADDRESS = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/** Refuses anything that is not a plain e-mail address, at synth time (SNS would only fail at deploy). */
export const validateAlarmEmail = (alarmEmail: string): void => {
  if (alarmEmail.length > 254 || !EMAIL_ADDRESS.test(alarmEmail)) throw new InvalidEmailAddressError(`alarmEmail "${alarmEmail}" is not an e-mail address (name@example.com)`);
};

/** Adds the topic as ALARM and OK action of every CloudWatch alarm it visits, once each. */
class NotifyOnAlarms implements IAspect {
  private readonly wired = new WeakSet<Alarm>();

  public constructor(private readonly action: SnsAction) {}

  public visit(node: IConstruct): void {
    if (!(node instanceof Alarm) || this.wired.has(node)) return;
    this.wired.add(node);
    node.addAlarmAction(this.action);
    node.addOkAction(this.action);
  }
}

/**
 * The SNS topic alarms notify: encrypted with its own rotating KMS key (CloudWatch cannot publish
 * to a topic under the AWS managed `alias/aws/sns` key, whose policy cannot name it), TLS-only,
 * publishable by CloudWatch alarms of this account and region, with an optional e-mail
 * subscription. {@link notifyOnAlarmsIn} wires every alarm of a scope, including alarms added later.
 *
 * @example
 * ```ts
 * const notifications = new OffloadAlarmTopic(this, 'AlarmTopic', { alarmEmail: 'oncall@example.com' });
 * notifications.notifyOnAlarmsIn(Stack.of(this));
 * ```
 */
export class OffloadAlarmTopic extends Construct {
  public readonly topic: Topic;
  /** Encrypts the topic's messages at rest; CloudWatch may use it to publish. */
  public readonly key: Key;

  public constructor(scope: Construct, id: string, props: OffloadAlarmTopicProps = {}) {
    super(scope, id);
    if (props.alarmEmail !== undefined) validateAlarmEmail(props.alarmEmail);
    const { account, region, partition } = Stack.of(this);

    this.key = new Key(this, 'Key', {
      description: 'Offload: encrypts the alarm notification topic',
      enableKeyRotation: true,
      // Encrypts only messages in flight on this topic: nothing outlives the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // What CloudWatch alarms need to publish to an encrypted topic (SNS generates a data key per
    // message). The key protects nothing but this topic, whose own policy limits publishers to
    // this account's alarms.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );

    this.topic = new Topic(this, 'Topic', { displayName: 'Offload alarms', masterKey: this.key, enforceSSL: true });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowAlarmsOfThisAccount',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
        },
      }),
    );
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
  }

  /** Sends the ALARM and OK transitions of every CloudWatch alarm in `scope` (now or added later) to the topic. */
  public notifyOnAlarmsIn(scope: IConstruct): void {
    Aspects.of(scope).add(new NotifyOnAlarms(new SnsAction(this.topic)));
  }
}
