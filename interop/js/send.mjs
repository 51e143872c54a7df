// One OpenTelemetry JS SDK process sending metrics to the Analyzer service over OTLP/HTTP (protobuf), the way
// a Node service would: CUMULATIVE temporality (the SDK default), no service.instance.id, a counter and an
// exponential histogram whose values spread over six decades, so the SDK lowers its scale between exports.
// Prints what it sent as one JSON line: {"counter": <sum added>, "histogram_count": <values recorded>}.
//
// usage: node send.mjs <OTLP metrics URL> <steps> <seed>
import { metrics } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationType,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";

const [url, stepsArg, seedArg] = process.argv.slice(2);
const steps = Number(stepsArg);
let seed = Number(seedArg);
const random = () => {
  // a small deterministic generator: the run is the same for the same seed
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

const reader = new PeriodicExportingMetricReader({
  exporter: new OTLPMetricExporter({ url }),
  exportIntervalMillis: 3_600_000, // exports happen when forceFlush() is called below
});
const provider = new MeterProvider({
  resource: resourceFromAttributes({ "service.name": "js-interop" }),
  readers: [reader],
  views: [{
    instrumentName: "heritage.component.duration",
    instrumentType: InstrumentType.HISTOGRAM,
    aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
  }],
});
metrics.setGlobalMeterProvider(provider);
const meter = metrics.getMeter("interop");
const queries = meter.createCounter("heritage.queries");
const duration = meter.createHistogram("heritage.component.duration", { unit: "s" });

let counter = 0;
let recorded = 0;
for (let step = 0; step < steps; step++) {
  const adds = 1 + Math.floor(random() * 5);
  for (let i = 0; i < adds; i++) {
    const n = 1 + Math.floor(random() * 3);
    queries.add(n);
    counter += n;
  }
  // values from 1e-4 s upwards: every few steps a new decade, so the exponential scale goes down
  const decades = 1 + Math.floor((step * 6) / steps);
  for (let i = 0; i < 20; i++) {
    duration.record(1e-4 * 10 ** (random() * decades), { "heritage.component": "js-comp" });
    recorded += 1;
  }
  await reader.forceFlush();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
await provider.shutdown();
console.log(JSON.stringify({ counter, histogram_count: recorded }));
