/**
 * The node agent's OTLP receiver listens on the node's loopback; functions live in namespaces of
 * their own, so the stack's bridge address relays TCP to it (a DaemonSet's hostPort does this in a
 * cluster). A refused connection is closed: the shim warns once and goes on without spans.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export async function startRelay(listenHost: string, listenPort: number, targetHost: string, targetPort: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(targetPort, targetHost);
    sockets.add(inbound).add(outbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    inbound.pipe(outbound).pipe(inbound);
  });
  server.on('close', () => { for (const s of sockets) s.destroy(); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => resolve());
  });
  return server;
}
