import { connect } from 'node:net';

/** True when something accepts TCP connections on 127.0.0.1:port (a broker, for our purposes). */
export function brokerAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
