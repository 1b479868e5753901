/** The environment a topic name is expanded from (process.env fits). */
export type TopicEnvironment = Readonly<Record<string, string | undefined>>;

/** A `name` template that cannot be expanded; the catalog prefixes the Subscription field. */
export class TopicNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopicNameError';
  }
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Expands `${VAR}` and `${VAR:-default}` in a `@topic(name:)` template, as a shell would: an empty variable counts
 * as unset (the gateway's configuration reads an empty variable as absent too), so `${VAR:-default}` gives the
 * default and `${VAR}` is an error rather than an empty topic name. Anything else with `${` is refused, so a typo
 * cannot become part of a topic name.
 */
export function expandTopicName(template: string, env: TopicEnvironment): string {
  let expanded = '';
  let at = 0;
  for (let start = template.indexOf('${'); start >= 0; start = template.indexOf('${', at)) {
    const end = template.indexOf('}', start + 2);
    if (end < 0) throw new TopicNameError(`@topic name ${JSON.stringify(template)} has a "\${" that is never closed`);
    const inner = template.slice(start + 2, end);
    const reference = REFERENCE.exec(inner);
    if (reference === null) {
      throw new TopicNameError(
        `@topic name ${JSON.stringify(template)} holds ${JSON.stringify(`\${${inner}}`)}: write \${VAR} or \${VAR:-default}`,
      );
    }
    const [, variable = '', fallback] = reference;
    const value = env[variable];
    const chosen = value === undefined || value === '' ? fallback : value;
    if (chosen === undefined) {
      throw new TopicNameError(`@topic name ${JSON.stringify(template)} reads \${${variable}}, which is not set and has no default`);
    }
    expanded += template.slice(at, start) + chosen;
    at = end + 1;
  }
  expanded += template.slice(at);
  return expanded;
}

/** Kafka's own rule (org.apache.kafka.common.internals.Topic): 1-249 of [A-Za-z0-9._-], and not "." or "..". */
export function isKafkaTopicName(name: string): boolean {
  return /^[A-Za-z0-9._-]{1,249}$/.test(name) && name !== '.' && name !== '..';
}
