import type { Config } from '../config/schema.js';
import { parseKeyValueList, tracesUrl } from '../config/telemetry-parsers.js';
import type { TelemetryOptions } from './telemetry.js';

/**
 * Telemetry options from the validated Config. Tracing is on when a traces endpoint is set,
 * `OTEL_TRACES_EXPORTER` is not `none` and `OTEL_SDK_DISABLED` is not true. (The OpenTelemetry
 * default endpoint, localhost:4318, is deliberately not assumed: off unless configured.)
 */
export function telemetryOptions(config: Config, serviceVersion: string, serviceInstanceId?: string): TelemetryOptions {
  const url = tracesUrl(config.otelExporterOtlpEndpoint, config.otelExporterOtlpTracesEndpoint);
  const tracing = !config.otelSdkDisabled && config.otelTracesExporter === 'otlp' && url !== '';
  return {
    resource: {
      serviceName: config.otelServiceName,
      serviceVersion,
      ...(serviceInstanceId === undefined ? {} : { serviceInstanceId }),
      attributes: parseKeyValueList(config.otelResourceAttributes),
    },
    ...(tracing
      ? {
          tracing: {
            url,
            headers: parseKeyValueList(config.otelExporterOtlpHeaders),
            sampler: config.otelTracesSampler,
            samplerArg: config.otelTracesSamplerArg,
          },
        }
      : {}),
    ...(config.disableMetrics ? {} : { metrics: { prometheus: true } }),
  };
}
