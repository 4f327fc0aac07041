import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

/**
 * `npm run watch -- <taskId> [after]`: subscribes to a task over the local WebSocket API and prints
 * its streamed text as it arrives, then the final status. Reads the endpoint and dev key from
 * `.offload/endpoints.json` (override with OFFLOAD_WS_URL / OFFLOAD_API_KEY).
 */
const [taskId, after = '0'] = process.argv.slice(2);
if (!taskId) {
  process.stderr.write('usage: npm run watch -- <taskId> [after]\n');
  process.exit(2);
}
const endpoints = (() => {
  try {
    return JSON.parse(readFileSync('.offload/endpoints.json', 'utf8')) as { webSocketApi: string; devTenant: { apiKey: string } };
  } catch {
    return undefined;
  }
})();
const url = process.env.OFFLOAD_WS_URL ?? endpoints?.webSocketApi;
const key = process.env.OFFLOAD_API_KEY ?? endpoints?.devTenant.apiKey;
if (!url || !key) {
  process.stderr.write('No endpoint: run `npm start` first, or set OFFLOAD_WS_URL and OFFLOAD_API_KEY.\n');
  process.exit(2);
}

const socket = new WebSocket(`${url}?token=${encodeURIComponent(key)}`);
socket.on('open', () => {
  socket.send(JSON.stringify({ action: 'subscribe', taskId, after: Number(after) }));
  // API Gateway closes connections idle for 10 minutes: keep this one alive while the task runs.
  setInterval(() => socket.send(JSON.stringify({ action: 'ping' })), 4 * 60_000).unref();
});
socket.on('unexpected-response', (_request, response) => {
  process.stderr.write(`WebSocket handshake refused: ${response.statusCode}\n`);
  process.exit(1);
});
socket.on('message', (data) => {
  const message = JSON.parse(String(data)) as { type: string; data?: { text?: string }; status?: string; error?: unknown; detail?: string };
  if (message.type === 'pong' || message.type === 'subscribed') return;
  if (message.type === 'progress') process.stdout.write(message.data?.text ?? JSON.stringify(message.data));
  else if (message.type === 'error') {
    process.stderr.write(`\nerror: ${message.detail}\n`);
    process.exit(1);
  } else if (message.type === 'status') {
    process.stdout.write(`\n\n[${message.status}]${message.error ? ' ' + JSON.stringify(message.error) : ''}\n`);
    socket.close();
    process.exit(message.status === 'succeeded' ? 0 : 1);
  }
});
socket.on('error', (error) => {
  process.stderr.write(`WebSocket error: ${error.message}\n`);
  process.exit(1);
});
