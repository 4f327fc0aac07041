/**
 * Dated AWS list prices, us-east-1, on-demand, without free tiers or volume discounts beyond the
 * first tier. Used to turn the local runtime's counted API calls into dollars per million tasks.
 *
 * Source: the public AWS pricing pages listed in `sources`, as published on `date`. Prices change;
 * re-check them before relying on the dollar figures (the call counts do not depend on them).
 */
export const PRICE_TABLE = {
  date: '2025-06-01',
  region: 'us-east-1',
  currency: 'USD',
  sources: [
    'https://aws.amazon.com/lambda/pricing/',
    'https://aws.amazon.com/api-gateway/pricing/',
    'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    'https://aws.amazon.com/sqs/pricing/',
    'https://aws.amazon.com/eventbridge/pricing/',
    'https://aws.amazon.com/cloudfront/pricing/',
  ],
  /** USD per unit. */
  unit: {
    /** Lambda requests: $0.20 per million. */
    lambdaRequest: 0.2 / 1e6,
    /** Lambda duration, arm64 (the stack deploys arm64): $0.0000133334 per GB-second. */
    lambdaGbSecondArm64: 0.0000133334,
    /** HTTP API requests (first 300 M/month, per 512 KB): $1.00 per million. */
    httpApiRequest: 1.0 / 1e6,
    /** WebSocket API messages, sent or received (first 1 B/month, per 32 KB): $1.00 per million. */
    webSocketMessage: 1.0 / 1e6,
    /** WebSocket API connection minutes: $0.25 per million. */
    webSocketConnectionMinute: 0.25 / 1e6,
    /** DynamoDB on-demand write request unit (≤ 1 KB per unit): $0.625 per million (price since 2024-11-01). */
    dynamoWriteRequestUnit: 0.625 / 1e6,
    /** DynamoDB on-demand read request unit (strongly consistent read ≤ 4 KB): $0.125 per million. */
    dynamoReadRequestUnit: 0.125 / 1e6,
    /** SQS standard queue requests (per 64 KB chunk): $0.40 per million. */
    sqsRequest: 0.4 / 1e6,
    /** EventBridge custom events published (per 64 KB chunk): $1.00 per million; rule deliveries to SQS are free. */
    eventBridgeEvent: 1.0 / 1e6,
    /** CloudFront HTTPS requests, United States/Europe: $0.0100 per 10,000. */
    cloudFrontRequest: 0.01 / 1e4,
  },
  notes: [
    'DynamoDB is priced at 1 WRU per write request and 1 RRU per read request, i.e. items ≤ 1 KB written and ≤ 4 KB read strongly consistent; larger items and GSI replication cost proportionally more.',
    'Each @connections call (PostToConnection, GetConnection, DeleteConnection) is priced as one WebSocket message.',
    'Excluded: data transfer, storage, CloudWatch Logs ingestion, X-Ray traces, KMS, and fixed per-month costs such as idle SQS long polling by event source mappings.',
  ],
} as const;

/** A priced usage line: quantity of one billing unit. */
export type BillingUnit = keyof typeof PRICE_TABLE.unit;

/** Dollars for a set of billing quantities. */
export const priceOf = (usage: Partial<Record<BillingUnit, number>>): number =>
  Object.entries(usage).reduce((sum, [unit, quantity]) => sum + PRICE_TABLE.unit[unit as BillingUnit] * (quantity ?? 0), 0);
