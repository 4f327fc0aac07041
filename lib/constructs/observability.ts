import { Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi, IWebSocketApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TextWidget, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { OffloadAlarmTopic } from './alarm-topic.ts';
import type { WorkloadClass } from './workload-class.ts';

/** Props of {@link OffloadObservability}. */
export interface OffloadObservabilityProps {
  readonly workloads: Readonly<Record<string, WorkloadClass>>;
  readonly httpApi: HttpApi;
  /** The WebSocket API whose stage {@link webSocketStageName} is alarmed on. */
  readonly webSocketApi: IWebSocketApi;
  /** The WebSocket API's stage (the `Stage` dimension of its metrics). */
  readonly webSocketStageName: string;
  /** An e-mail address subscribed to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** Oldest-message age that alarms, per class. @default 5 minutes for every class */
  readonly maxQueueAge?: Readonly<Record<string, Duration>>;
}

const custom = (name: string, statistic: string, className?: string) =>
  new Metric({ namespace: 'Offload', metricName: name, statistic, period: Duration.minutes(1), dimensionsMap: { service: 'offload', ...(className ? { class: className } : {}) } });

/** A WebSocket API stage metric (`AWS/ApiGateway`, dimensions `ApiId` and `Stage`). */
const webSocketMetric = (api: IWebSocketApi, stageName: string, metricName: string) =>
  new Metric({ namespace: 'AWS/ApiGateway', metricName, statistic: 'Sum', period: Duration.minutes(5), dimensionsMap: { ApiId: api.apiId, Stage: stageName } });

/**
 * The operator's view: a CloudWatch dashboard (per class: backlog, oldest message, DLQ, worker
 * errors and duration, outcomes; the APIs' requests, errors and latency) and alarms on every DLQ's
 * depth, every queue's oldest message age, every worker's error rate, the HTTP API's 5xx rate and
 * the WebSocket API's execution, integration and client errors. Every CloudWatch alarm of the
 * stack (these and any added later) notifies {@link alarmTopic} on ALARM and OK.
 */
export class OffloadObservability extends Construct {
  public readonly dashboard: Dashboard;
  public readonly alarms: Alarm[] = [];
  /** The SNS topic every alarm of the stack notifies. */
  public readonly alarmTopic: ITopic;

  public constructor(scope: Construct, id: string, props: OffloadObservabilityProps) {
    super(scope, id);
    const notifications = new OffloadAlarmTopic(this, 'AlarmTopic', { ...(props.alarmEmail !== undefined ? { alarmEmail: props.alarmEmail } : {}) });
    notifications.notifyOnAlarmsIn(Stack.of(this));
    this.alarmTopic = notifications.topic;
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(new TextWidget({ markdown: '# Offload\nAcknowledge fast, work in the background, stream progress.', width: 24, height: 2 }));

    const api = props.httpApi;
    const api5xx = api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' });
    const apiCount = api.metricCount({ period: Duration.minutes(5), statistic: 'Sum' });
    this.alarms.push(
      new Alarm(this, 'ApiServerErrors', {
        alarmDescription: 'HTTP API answers 5xx to more than 1% of requests',
        metric: new MathExpression({ expression: 'IF(requests > 0, 100 * errors / requests, 0)', usingMetrics: { errors: api5xx, requests: apiCount }, period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'API requests and errors', left: [apiCount, api.metricClientError({ period: Duration.minutes(5) }), api5xx], width: 8 }),
      new GraphWidget({ title: 'API latency (p50, p99)', left: [api.metricLatency({ statistic: 'p50' }), api.metricLatency({ statistic: 'p99' })], width: 8 }),
      new GraphWidget({ title: 'Ack latency (p99) and submits', left: [custom('AckLatency', 'p99')], right: [custom('TasksSubmitted', 'Sum')], width: 8 }),
    );
    this.addWebSocketAlarms(props.webSocketApi, props.webSocketStageName);

    for (const [className, workload] of Object.entries(props.workloads)) {
      const maxAge = props.maxQueueAge?.[className] ?? Duration.minutes(5);
      const dlqDepth = workload.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' });
      const oldest = workload.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' });
      const errors = workload.worker.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' });
      const invocations = workload.worker.metricInvocations({ period: Duration.minutes(5), statistic: 'Sum' });
      this.alarms.push(
        new Alarm(this, `${workload.node.id}DlqDepth`, {
          alarmDescription: `${className}: messages in the dead-letter queue (tasks that failed every attempt)`,
          metric: dlqDepth,
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
        new Alarm(this, `${workload.node.id}OldestMessage`, {
          alarmDescription: `${className}: the oldest queued task waited longer than ${maxAge.toHumanString()}`,
          metric: oldest,
          threshold: maxAge.toSeconds(),
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
        new Alarm(this, `${workload.node.id}WorkerErrors`, {
          alarmDescription: `${className}: more than 5% of worker invocations fail`,
          metric: new MathExpression({ expression: 'IF(invocations > 0, 100 * errors / invocations, 0)', usingMetrics: { errors, invocations }, period: Duration.minutes(5) }),
          threshold: 5,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
      this.dashboard.addWidgets(
        new GraphWidget({ title: `${className}: backlog and DLQ`, left: [workload.queue.metricApproximateNumberOfMessagesVisible(), dlqDepth], right: [oldest], width: 8 }),
        new GraphWidget({ title: `${className}: worker`, left: [invocations, errors, workload.worker.metricThrottles()], right: [workload.worker.metricDuration({ statistic: 'p99' })], width: 8 }),
        new GraphWidget({
          title: `${className}: outcomes`,
          left: [custom('TasksSucceeded', 'Sum', className), custom('TasksFailed', 'Sum', className), custom('TaskRetries', 'Sum', className)],
          right: [custom('QueueAge', 'p99', className)],
          width: 8,
        }),
      );
    }
  }

  /**
   * WebSocket stage alarms (AWS/ApiGateway metrics for WebSocket APIs): integrations that failed to
   * run (ExecutionError), integrations answering 4xx/5xx (IntegrationError) and requests API Gateway
   * refused before any integration ran (ClientError: authorizer denials on $connect, throttling).
   */
  private addWebSocketAlarms(api: IWebSocketApi, stageName: string): void {
    const metric = (name: string) => webSocketMetric(api, stageName, name);
    const [connects, messages, executionErrors, integrationErrors, clientErrors] = ['ConnectCount', 'MessageCount', 'ExecutionError', 'IntegrationError', 'ClientError'].map(metric) as [Metric, Metric, Metric, Metric, Metric];
    const rate = (errors: Metric) =>
      new MathExpression({ expression: 'IF(connects + messages > 0, 100 * errors / (connects + messages), 0)', usingMetrics: { errors, connects, messages }, period: Duration.minutes(5) });
    this.alarms.push(
      new Alarm(this, 'WebSocketExecutionErrors', {
        alarmDescription: 'WebSocket API: integrations failed to run (Lambda errors, timeouts or throttles behind a route)',
        metric: executionErrors,
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'WebSocketIntegrationErrors', {
        alarmDescription: 'WebSocket API: route integrations answer 4xx/5xx to more than 5% of connects and messages',
        metric: rate(integrationErrors),
        threshold: 5,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'WebSocketClientErrors', {
        alarmDescription: 'WebSocket API: API Gateway refuses more than 20% of connects and messages before any integration (authorizer denials, throttling)',
        metric: rate(clientErrors),
        threshold: 20,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'WebSocket connects and messages', left: [connects, messages], width: 12 }),
      new GraphWidget({ title: 'WebSocket errors', left: [executionErrors, integrationErrors, clientErrors], width: 12 }),
    );
  }
}
