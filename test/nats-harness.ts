import { execa, type ResultPromise } from 'execa';
import { connect } from '@nats-io/transport-node';
import { until } from './agent-harness.js';

/**
 * A nats-server of a test's own (a free port, its own file store), killed with -9 and started
 * again, on the same store or a new one. Awaiting the killed process reaps it: no zombie.
 */
export class NatsServer {
  proc: ResultPromise | undefined;
  constructor(readonly port: number, public storeDir: string) {}
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const proc = (this.proc = execa('nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { reject: false, all: true }));
    let exited = false;
    void proc.then(() => (exited = true));
    await until('nats-server', async () => {
      if (exited) throw new Error(`nats-server exited: ${String((await proc).all).slice(-2000)}`);
      return connect({ servers: this.url, maxReconnectAttempts: 0 }).then((nc) => nc.close().then(() => true), () => false);
    }, 60000);
  }
  async kill9(): Promise<void> {
    this.proc?.kill('SIGKILL');
    await this.proc;
  }
}
