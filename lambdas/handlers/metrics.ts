import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * EMF metrics (namespace `Offload`), written to the function log and turned into CloudWatch
 * metrics without API calls. Workers add their workload class as a dimension.
 */
export const metrics = new Metrics({
  namespace: 'Offload',
  serviceName: 'offload',
  ...(process.env.WORKLOAD_CLASS ? { defaultDimensions: { class: process.env.WORKLOAD_CLASS } } : {}),
});

export { MetricUnit };
