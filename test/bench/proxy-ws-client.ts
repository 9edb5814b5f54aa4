// The WebSocket figure's load generator (wrk has no WebSocket): `connections` sockets spread over the
// routes, each sending a 1 KiB message and waiting for its echo, back to back, for `seconds`. Runs in
// its own process so it shares no event loop with a proxy. Prints {"messages","seconds","msgPerSec","errors"}.
//   node --import tsx test/bench/proxy-ws-client.ts <ws://127.0.0.1:port> <routes> <connections> <seconds>
import { WebSocket } from 'ws';

const [origin, routesArg, connArg, secondsArg] = process.argv.slice(2);
const routes = Number(routesArg), connections = Number(connArg), seconds = Number(secondsArg);
const payload = Buffer.alloc(1024, 'm');

function open(i: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${origin}/user/u${(i * 21) % routes}/api/kernels/k/channels`, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const sockets = await Promise.all(Array.from({ length: connections }, (_, i) => open(i)));
let messages = 0;
let errors = 0;
const start = process.hrtime.bigint();
const deadline = Date.now() + seconds * 1000;
await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => {
  ws.on('message', () => {
    messages++;
    if (Date.now() >= deadline) return resolve();
    ws.send(payload);
  });
  ws.on('error', () => { errors++; resolve(); });
  ws.on('close', () => resolve());
  ws.send(payload);
})));
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
for (const ws of sockets) ws.terminate();
console.log(JSON.stringify({ messages, seconds: elapsed, msgPerSec: messages / elapsed, errors }));
process.exit(0);
