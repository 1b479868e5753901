import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { Config } from '../../config.js';

/** TLS and SASL of every connection to the cluster: the producer's, the admin client's and the engine's. */
export interface KafkaSecurity {
  readonly ssl?: ConnectionOptions | boolean;
  readonly sasl?: SASLOptions;
}

type SecuritySettings = Pick<
  Config,
  | 'KAFKA_SSL'
  | 'KAFKA_SSL_CA_FILE'
  | 'KAFKA_SSL_CERT_FILE'
  | 'KAFKA_SSL_KEY_FILE'
  | 'KAFKA_SSL_REJECT_UNAUTHORIZED'
  | 'KAFKA_SASL_MECHANISM'
  | 'KAFKA_SASL_USERNAME'
  | 'KAFKA_SASL_PASSWORD'
>;

/** kafkajs's `ssl` and `sasl` from validated configuration (loadConfig has checked the combinations and files). */
export function kafkaSecurity(settings: SecuritySettings): KafkaSecurity {
  const read = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path, 'utf8'));
  const ssl: ConnectionOptions | undefined = settings.KAFKA_SSL
    ? {
        rejectUnauthorized: settings.KAFKA_SSL_REJECT_UNAUTHORIZED,
        ...(settings.KAFKA_SSL_CA_FILE !== undefined && { ca: [read(settings.KAFKA_SSL_CA_FILE) ?? ''] }),
        ...(settings.KAFKA_SSL_CERT_FILE !== undefined && { cert: read(settings.KAFKA_SSL_CERT_FILE) }),
        ...(settings.KAFKA_SSL_KEY_FILE !== undefined && { key: read(settings.KAFKA_SSL_KEY_FILE) }),
      }
    : undefined;
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username = '', KAFKA_SASL_PASSWORD: password = '' } = settings;
  const sasl: SASLOptions | undefined = mechanism === undefined ? undefined : { mechanism, username, password };
  return { ...(ssl && { ssl }), ...(sasl && { sasl }) };
}
