import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The established IPv4 TCP connections of process `pid` to `remotePort` (Linux /proc), as their local ports: a
 * connection opened anew has a local port not seen before.
 */
export function establishedTo(pid: number, remotePort: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (socket?.[1]) inodes.add(socket[1]);
    } catch {
      // closed while listed
    }
  }
  const ports = new Set<number>();
  const remoteHex = remotePort.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    const fields = line.trim().split(/\s+/);
    const [, local, remote, state] = fields;
    const inode = fields[9];
    if (state !== '01' || inode === undefined || !inodes.has(inode) || remote?.split(':')[1] !== remoteHex) continue;
    ports.add(Number.parseInt(local?.split(':')[1] ?? '', 16));
  }
  return ports;
}

/** Samples `establishedTo` every few milliseconds until stopped: the most held at once, and every one seen. */
export function sampleConnections(pid: number, remotePort: number) {
  const before = establishedTo(pid, remotePort);
  const seen = new Set(before);
  let peak = before.size;
  let sampling = true;
  const done = (async () => {
    while (sampling) {
      const now = establishedTo(pid, remotePort);
      peak = Math.max(peak, now.size);
      for (const port of now) seen.add(port);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return {
    before: before.size,
    async stop() {
      sampling = false;
      await done;
      return { peak, opened: [...seen].filter((port) => !before.has(port)).length };
    },
  };
}
