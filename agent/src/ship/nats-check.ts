import { connect } from '@nats-io/transport-node';

/** Connects to a NATS server and says what it is (faasprov doctor); throws when it does not answer. */
export async function natsServerInfo(url: string, timeoutMs = 5000): Promise<{ version: string; jetstream: boolean }> {
  const nc = await connect({ servers: url, timeout: timeoutMs, maxReconnectAttempts: 0 });
  try {
    const info = nc.info;
    return { version: info?.version ?? 'unknown', jetstream: info?.jetstream === true };
  } finally {
    await nc.close();
  }
}
