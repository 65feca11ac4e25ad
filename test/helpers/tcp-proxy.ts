/** A loopback TCP proxy in front of a real service (PostgreSQL, Temporal): a network fault the test controls. */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export interface TcpProxy {
  port: number;
  /** `127.0.0.1:<port>`: what to give the process under test instead of the service's address. */
  address: string;
  /** Stops listening and cuts every connection through it: the port then refuses connections. */
  shut(): Promise<void>;
  /** Listens again, on the same port. */
  open(): Promise<void>;
  /**
   * From now on nothing more passes, either way: bytes sent are dropped and new connections cut, while
   * the connections already open stay open (a partition, not a refusal). What was dropped never arrives.
   */
  freeze(): void;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let frozen = false;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        if (frozen) {
          client.destroy();
          return;
        }
        const upstream = tcpConnect(targetPort, targetHost);
        const cut = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', cut);
          socket.on('close', cut);
        }
        // By hand rather than pipe(): a frozen proxy must drop what it is sent, not buffer it for later.
        client.on('data', (chunk) => {
          if (!frozen) upstream.write(chunk);
        });
        upstream.on('data', (chunk) => {
          if (!frozen) client.write(chunk);
        });
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const address = s.address();
        port = typeof address === 'object' && address ? address.port : 0;
        server = s;
        resolve();
      });
    });
  const shut = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    port,
    address: `127.0.0.1:${port}`,
    shut,
    open: listen,
    freeze() {
      frozen = true;
    },
    close: shut,
  };
}
