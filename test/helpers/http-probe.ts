// One GET for "is it up yet?" loops against ports Docker publishes. Not fetch(): when docker-proxy
// accepts and then resets a connection, undici's fetch can stay pending with no handle left, so the
// test process's event loop drains mid-await and node:test cancels the suite. node:http always
// settles (error, timeout or response), and its socket and timer keep the loop alive meanwhile.
import { request } from 'node:http';

export function probeStatus(url: string, timeoutMs = 2000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined)); // refused, reset or timed out: "not up yet"
    req.end();
  });
}
