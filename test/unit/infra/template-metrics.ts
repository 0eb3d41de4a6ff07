// Deployment test support: the metrics a packaged template's alarms and dashboard read, as comparable records.

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is untyped JSON.
type Json = Record<string, any>;

export interface MetricRef {
  readonly where: string;
  readonly namespace: string;
  readonly name: string;
  /** Dimension names and values; a SEARCH expression lists names only (values are '*'). */
  readonly dimensions: Readonly<Record<string, string>>;
}

/** What each alarm reads (single-metric alarms; metric-math alarms would list theirs under Metrics). */
export function alarmMetrics(resources: Json): MetricRef[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
    .flatMap(([id, r]) => {
      const p = r.Properties;
      const stats: Json[] = p.Metrics
        ? p.Metrics.flatMap((m: Json) => (m.MetricStat ? [m.MetricStat.Metric] : []))
        : [p];
      return stats.map((m) => ({
        where: id,
        namespace: m.Namespace,
        name: m.MetricName,
        dimensions: Object.fromEntries((m.Dimensions ?? []).map((d: Json) => [d.Name, d.Value])),
      }));
    });
}

/** The dashboard body with Fn::Sub's `${…}` references left as their names. */
export function dashboardBody(resource: Json): Json {
  const text: string = resource.Properties.DashboardBody['Fn::Sub'];
  return JSON.parse(text.replace(/\$\{([^}]+)\}/g, (_, name: string) => `<${name}>`));
}

const SEARCH = /SEARCH\('\{([^}]*)\}([^']*)'/;

/** What each dashboard widget reads: metric arrays `[ns, name, k, v, …, options?]` and SEARCH expressions. */
export function dashboardMetrics(body: Json): MetricRef[] {
  return body.widgets.flatMap((w: Json) =>
    (w.properties.metrics ?? []).flatMap((entry: Array<string | Json>): MetricRef[] => {
      const where = w.properties.title as string;
      const first = entry[0];
      if (typeof first === 'object' && typeof first.expression === 'string') {
        const match = SEARCH.exec(first.expression);
        if (!match) throw new Error(`unparsed expression in "${where}": ${first.expression}`);
        const [namespace = '', ...dimensionNames] = (match[1] ?? '').split(',');
        const terms = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
        const { MetricName: name = '', ...values } = terms;
        const dimensions = Object.fromEntries(dimensionNames.map((d) => [d, values[d] ?? '*']));
        return [{ where, namespace, name, dimensions }];
      }
      const parts = entry.filter((e): e is string => typeof e === 'string');
      if (parts.includes('.'))
        throw new Error(`"${where}" uses the '.' shorthand: spell metrics out so they can be checked`);
      const [namespace = '', name = '', ...pairs] = parts;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1] as string;
      return [{ where, namespace, name, dimensions }];
    }),
  );
}
