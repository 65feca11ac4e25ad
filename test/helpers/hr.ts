/** HR events as an HR system sends them: signed as the Standard Webhooks spec says. */
import { createHmac, randomUUID } from 'node:crypto';
import type { TestApi } from './api';

export function sendHrEvent(api: TestApi, key: Buffer, body: unknown, id = `msg_${randomUUID()}`) {
  const payload = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${payload}`).digest('base64');
  return api.app.inject({
    method: 'POST',
    url: '/v1/hr/events',
    payload,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': `v1,${signature}`,
    },
  });
}
