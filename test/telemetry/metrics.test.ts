import { expect, test } from "bun:test";
import { renderLabelled } from "../../src/telemetry/metrics.ts";

test("a series without labels is the bare name", () => {
  const text = renderLabelled([{ name: "flight_received_rows_total", help: "rows", kind: "counter", series: [{ labels: {}, value: 7 }] }]);
  expect(text).toBe("# HELP sigma_flight_received_rows_total rows\n# TYPE sigma_flight_received_rows_total counter\nsigma_flight_received_rows_total 7\n");
});

test("labelled metrics render as Prometheus text, label values escaped", () => {
  const text = renderLabelled([
    {
      name: "kafka_consumer_lag",
      help: "records not yet acknowledged",
      kind: "gauge",
      series: [
        { labels: { topic: "events", partition: "0" }, value: 12 },
        { labels: { topic: 'odd"name\\with\nbreak', partition: "1" }, value: 0 },
      ],
    },
  ]);
  expect(text).toBe(
    "# HELP sigma_kafka_consumer_lag records not yet acknowledged\n" +
      "# TYPE sigma_kafka_consumer_lag gauge\n" +
      'sigma_kafka_consumer_lag{topic="events",partition="0"} 12\n' +
      'sigma_kafka_consumer_lag{topic="odd\\"name\\\\with\\nbreak",partition="1"} 0\n',
  );
});

test("metrics of one name from two reporters are one family with both series", () => {
  const produced = (topic: string, value: number) => ({ name: "kafka_produced_messages_total", help: "acknowledged", kind: "counter" as const, series: [{ labels: { topic }, value }] });
  const text = renderLabelled([produced("matches", 5), { name: "other", help: "o", kind: "gauge", series: [{ labels: {}, value: 1 }] }, produced("dead", 2)]);
  expect(text).toBe(
    "# HELP sigma_kafka_produced_messages_total acknowledged\n# TYPE sigma_kafka_produced_messages_total counter\n" +
      'sigma_kafka_produced_messages_total{topic="matches"} 5\nsigma_kafka_produced_messages_total{topic="dead"} 2\n' +
      "# HELP sigma_other o\n# TYPE sigma_other gauge\nsigma_other 1\n",
  );
});
