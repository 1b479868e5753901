import { getNamedType, isLeafType } from 'graphql';
import type { DeclaredTopic } from '../subscriptions/declared-topics.js';

/** Leaf fields of a payload shown in an example; the explorer's docs list the rest. */
const SHOWN_PAYLOAD_FIELDS = 6;

const operationName = (field: string) => field.charAt(0).toUpperCase() + field.slice(1);

/**
 * One example subscription per declared field, for the explorer: filtered on the example account when the field has
 * an owner (a caller holding that account may run it), with the envelope and the payload's first leaf fields.
 */
export function subscriptionExamples(topics: readonly DeclaredTopic[], exampleAccount = 'acc-1'): { query: string }[] {
  return topics.map(({ declaration }) => {
    const { field, owner, filterArgument, envelopeFields, payloadField, payloadType } = declaration;
    const byOwner =
      owner !== undefined && filterArgument?.fields.some((rule) => rule.name === owner && rule.kind !== 'min' && rule.kind !== 'max');
    const args = byOwner ? `(filter: { ${owner}: "${exampleAccount}" })` : '';
    const leaves = Object.values(payloadType.getFields())
      .filter((f) => isLeafType(getNamedType(f.type)))
      .slice(0, SHOWN_PAYLOAD_FIELDS)
      .map((f) => `      ${f.name}`);
    const envelope = envelopeFields.filter((name) => name !== 'cursor').map((name) => `    ${name}`);
    return {
      query: [
        `subscription ${operationName(field)} {`,
        `  ${field}${args} {`,
        ...envelope,
        `    ${payloadField} {`,
        ...leaves,
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    };
  });
}
