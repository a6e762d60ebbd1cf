/**
 * Metrics in the Prometheus text format: the admin endpoint's own counters
 * and what sources and sinks report (`Source.metrics`, `Sink.metrics`), with
 * labels for what comes in several series: a Kafka partition's lag, one
 * series per topic and partition; a Flight server's calls, one per method.
 */

export interface LabelledMetric {
  /** Without the `sigma_` prefix. */
  name: string;
  help: string;
  kind: "gauge" | "counter";
  series: { labels: Record<string, string>; value: number }[];
}

/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
function labelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/**
 * The text-format lines of `metrics`, those of one name (two Kafka sinks'
 * produced messages, say) merged into one family: the format allows one
 * HELP and TYPE per name, with all its series after them.
 */
export function renderLabelled(metrics: readonly LabelledMetric[]): string {
  const families = new Map<string, LabelledMetric>();
  for (const metric of metrics) {
    const family = families.get(metric.name);
    if (family === undefined) families.set(metric.name, { ...metric, series: [...metric.series] });
    else family.series.push(...metric.series);
  }
  let out = "";
  for (const family of families.values()) out += renderFamily(family);
  return out;
}

/** One family: HELP and TYPE, then one line per series. */
function renderFamily(metric: LabelledMetric): string {
  let out = `# HELP sigma_${metric.name} ${metric.help}\n# TYPE sigma_${metric.name} ${metric.kind}\n`;
  for (const { labels, value } of metric.series) {
    const text = Object.entries(labels)
      .map(([label, v]) => `${label}="${labelValue(v)}"`)
      .join(",");
    out += text === "" ? `sigma_${metric.name} ${value}\n` : `sigma_${metric.name}{${text}} ${value}\n`;
  }
  return out;
}
