import type { LogRecord } from '../streaming/log-client.js';
import { type CompiledFilter, compileFilter } from './filter-matching.js';
import { type CoercedPayload, compilePayloadCoercion, type PayloadCoercer, UnsupportedPayloadTypeError } from './payload-coercion.js';
import { type RecordDecoder, recordDecoder } from './record-decoding.js';
import { type TopicCatalog, type TopicDeclaration, TopicDeclarationError } from './topic-catalog.js';

/** A declaration made ready to serve: how its records are read and how a subscription's filter is bound. */
export interface DeclaredTopic {
  readonly declaration: TopicDeclaration;
  readonly decode: RecordDecoder;
  readonly coerce: PayloadCoercer;
  /** Absent when the field takes no `filter`. */
  readonly filter: CompiledFilter | undefined;
}

/** What a record of a declared topic becomes once it fits: what every subscriber of the field shares. */
export interface TopicRecordValue {
  readonly eventId: string;
  readonly payload: CoercedPayload;
}

/** Why a record was not delivered, for `gateway_records_rejected_total{field,reason}` and the log. */
export interface RecordRejection {
  readonly field: string;
  readonly topic: string;
  readonly reason: string;
  readonly partition: number;
  readonly offset: bigint;
  /** payload_shape only: where the payload went wrong. */
  readonly path?: string;
}

/** Compiles every declaration once, at start-up; a payload type JSON cannot carry stops start-up naming the field. */
export function compileDeclaredTopics(catalog: TopicCatalog): DeclaredTopic[] {
  return catalog.map((declaration) => {
    let coerce: PayloadCoercer;
    try {
      coerce = compilePayloadCoercion(declaration.payloadType, { rootPath: declaration.format === 'CLOUDEVENTS' ? 'data' : 'value' });
    } catch (error) {
      if (error instanceof UnsupportedPayloadTypeError) throw new TopicDeclarationError(`Subscription.${declaration.field}`, error.message);
      throw error;
    }
    return {
      declaration,
      decode: recordDecoder(declaration.format),
      coerce,
      filter: declaration.filterArgument && compileFilter(declaration.filterArgument, declaration.payloadType),
    };
  });
}

/** The live read's decode for one declared field: the record read and typed once, or null (reported) when it does not fit. */
export function topicRecordReader(
  declared: DeclaredTopic,
  rejected: (rejection: RecordRejection) => void,
): (record: LogRecord) => TopicRecordValue | null {
  const { field, topic } = declared.declaration;
  return (record) => {
    const decoded = declared.decode({ topic, partition: record.partition, offset: String(record.offset), value: record.value });
    if (!decoded.ok) {
      rejected({ field, topic, reason: decoded.reason, partition: record.partition, offset: record.offset });
      return null;
    }
    const typed = declared.coerce(decoded.payload);
    if (!typed.ok) {
      rejected({ field, topic, reason: typed.reason, partition: record.partition, offset: record.offset, path: typed.path });
      return null;
    }
    return { eventId: decoded.eventId, payload: typed.value };
  };
}
