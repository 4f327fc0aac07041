import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveTarget } from '../../client/cli/config.ts';
import { buildApp } from '../../lib/app.ts';
import { testApp } from '../support/cdk-app.ts';

/**
 * The stack's outputs are a documented contract (README "Deploying to AWS"): `cdk deploy
 * --outputs-file` writes them under exactly these names, which the `offload` CLI and operators
 * read. No output may carry the hash CDK appends to ids inside constructs.
 */

/** The documented outputs, exactly. */
const DOCUMENTED_OUTPUTS = [
  'HttpApiUrl',
  'CdnUrl',
  'WebSocketUrl',
  'DashboardUrl',
  'TasksTableName',
  'InteractiveQueueUrl',
  'InteractiveDlqUrl',
  'BatchQueueUrl',
  'BatchDlqUrl',
  'IntegrationsQueueUrl',
  'IntegrationsDlqUrl',
  'AnalyticsQueueUrl',
  'AnalyticsDlqUrl',
  'ExportsBucketName',
  'ConnectionsTableName',
  'WebSocketManagementUrl',
  'AlarmTopicArn',
  'WebhookSecretsKeyArn',
] as const;

type Resource = { Type: string; Properties?: Record<string, any> };
type TemplateJson = { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };

const template = Template.fromStack(buildApp(testApp()));
const json = template.toJSON() as TemplateJson;
const valueOf = (name: string): string => JSON.stringify(json.Outputs[name]?.Value);
const idsOf = (type: string): string[] => Object.entries(json.Resources).filter(([, resource]) => resource.Type === type).map(([id]) => id);

describe('stack outputs', () => {
  it('are exactly the documented set, under their documented names', () => {
    // Prepare / Act
    const names = Object.keys(json.Outputs);
    // Assess
    expect([...names].sort()).toEqual([...DOCUMENTED_OUTPUTS].sort());
  });

  it('point at the resources their names promise', () => {
    // Prepare
    const [httpApi] = idsOf('AWS::ApiGatewayV2::Api').filter((id) => json.Resources[id]!.Properties?.ProtocolType === 'HTTP');
    const [webSocketApi] = idsOf('AWS::ApiGatewayV2::Api').filter((id) => json.Resources[id]!.Properties?.ProtocolType === 'WEBSOCKET');
    const [distribution] = idsOf('AWS::CloudFront::Distribution');
    const batchWorker = Object.values(json.Resources).find((resource) => resource.Properties?.Environment?.Variables?.WORKLOAD_CLASS === 'batch');
    const tasksTable = Object.values(json.Resources).find((resource) => resource.Properties?.Environment?.Variables?.TASKS_TABLE)?.Properties?.Environment.Variables.TASKS_TABLE;
    // Act / Assess
    expect(valueOf('HttpApiUrl')).toBe(JSON.stringify({ 'Fn::GetAtt': [httpApi, 'ApiEndpoint'] }));
    expect(valueOf('WebSocketUrl')).toContain(`{"Ref":"${webSocketApi}"}`);
    expect(valueOf('WebSocketUrl')).toContain('wss://');
    expect(valueOf('CdnUrl')).toContain(`{"Fn::GetAtt":["${distribution}","DomainName"]}`);
    expect(valueOf('DashboardUrl')).toContain('/dashboard/index.html');
    expect(valueOf('TasksTableName')).toBe(JSON.stringify(tasksTable));
    expect(valueOf('ExportsBucketName')).toBe(JSON.stringify(batchWorker?.Properties?.Environment.Variables.EXPORTS_BUCKET));
    expect(json.Resources[(json.Outputs.ExportsBucketName!.Value as { Ref: string }).Ref]?.Type).toBe('AWS::S3::Bucket');
    const connectionsTable = Object.values(json.Resources).find((resource) => resource.Properties?.Environment?.Variables?.CONNECTIONS_TABLE)?.Properties?.Environment.Variables.CONNECTIONS_TABLE;
    const managementEndpoint = Object.values(json.Resources).find((resource) => resource.Properties?.Environment?.Variables?.WS_MANAGEMENT_ENDPOINT)?.Properties?.Environment.Variables.WS_MANAGEMENT_ENDPOINT;
    expect(valueOf('ConnectionsTableName')).toBe(JSON.stringify(connectionsTable));
    expect(valueOf('WebSocketManagementUrl')).toBe(JSON.stringify(managementEndpoint));
  });

  describe('read by the offload CLI from a cdk outputs file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'offload-outputs-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('finds the endpoint, the WebSocket URL, the table and every queue under the stack-level names', () => {
      // Prepare: what `cdk deploy --outputs-file` writes for this template (values made up, names real)
      const value = (name: string) =>
        name.endsWith('QueueUrl') || name.endsWith('DlqUrl')
          ? `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`
          : name === 'WebSocketUrl'
            ? 'wss://def456.execute-api.eu-west-1.amazonaws.com/live'
            : name === 'CdnUrl'
              ? 'https://d111111abcdef8.cloudfront.net'
              : `value-of-${name}`;
      const file = path.join(dir, 'cdk-outputs.json');
      writeFileSync(file, JSON.stringify({ MyOffload: Object.fromEntries(Object.keys(json.Outputs).map((name) => [name, value(name)])) }));
      // Act
      const target = resolveTarget({ outputs: file }, {}, dir);
      // Assess
      expect(target).toMatchObject({
        source: expect.stringContaining('stack MyOffload'),
        endpoint: 'https://d111111abcdef8.cloudfront.net',
        webSocketUrl: 'wss://def456.execute-api.eu-west-1.amazonaws.com/live',
        admin: {
          tasksTable: 'value-of-TasksTableName',
          region: 'eu-west-1',
          connections: { table: 'value-of-ConnectionsTableName', managementEndpoint: 'value-of-WebSocketManagementUrl' },
          queues: { interactive: { url: expect.stringMatching(/InteractiveQueueUrl$/), deadLetterUrl: expect.stringMatching(/InteractiveDlqUrl$/) } },
        },
      });
    });
  });
});
