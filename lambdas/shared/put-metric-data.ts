/**
 * Publishing a run's metrics in as few `PutMetricData` calls as the caller's per-call limit
 * allows (CloudWatch takes at most 1000 per call), in order, stopping at the first call that
 * fails. Used by the drift guards, which report that failure as a failed check.
 */
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';

/** Sends `data` under `namespace`, `perCall` at a time; resolves to what the first call that failed threw, else `undefined`. */
export async function putMetricDataInBatches(
  cloudwatch: CloudWatchClient, namespace: string, data: readonly MetricDatum[], perCall: number,
): Promise<{ readonly error: unknown } | undefined> {
  for (let i = 0; i < data.length; i += perCall) {
    try {
      await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data.slice(i, i + perCall) }));
    } catch (err) {
      return { error: err };
    }
  }
  return undefined;
}
