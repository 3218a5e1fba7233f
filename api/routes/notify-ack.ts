/**
 * Acknowledge links of channels without their own signed callback (email
 * links, ntfy `http` action buttons, Teams/Chat buttons): the signed token
 * (lib/notify/ack-token.ts) is the credential, so no API key is needed.
 *
 * GET  /v1/notify/ack?token=…  verifies, then shows a page with one
 *      "Acknowledge" button (a form POST): mail scanners and link previews
 *      fetch links, and must not acknowledge anything.
 * POST /v1/notify/ack?token=…  verifies and acknowledges through the same
 *      workflow Update as the API (`via` = the channel kind, `by` =
 *      `<kind>:<recipient>`), so a second click acknowledges nothing new and
 *      the chain records the ack once. Answers JSON, or HTML for a browser.
 *
 * Bad tokens answer 400 (malformed/too long), 401 (signature) or 410
 * (expired), are logged and counted by `problem`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { ACK_LINK_PATH, AckTokenError, verifyAckToken, type AckTokenClaims } from '../../lib/notify/ack-token.ts';
import type { ApiServices } from '../services.ts';
import { AlertOperationError, alertErrorStatus } from '../alert-errors.ts';

export const ackRejected = new Counter({
  name: 'telemetry_notify_ack_rejected_total',
  help: 'Acknowledge links refused, by problem (malformed, bad_signature, expired, too_long)',
  labelNames: ['problem'] as const,
});

export interface NotifyAckOptions {
  key: string;
  services: ApiServices;
  now?: () => number;
}

const STATUS = { malformed: 400, too_long: 400, bad_signature: 401, expired: 410 } as const;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;

function wantsHtml(req: FastifyRequest): boolean {
  return String(req.headers.accept ?? '').includes('text/html');
}

export const notifyAckRoutes: FastifyPluginAsync<NotifyAckOptions> = async (app, opts) => {
  if (!opts.key) throw new TypeError('notifyAckRoutes: key is required');
  // Browsers post the confirmation form urlencoded; ntfy actions may post any body: the token in the URL is what counts.
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'text/plain'], { parseAs: 'string', bodyLimit: 16_384 }, (_req, body, done) => done(null, body));

  function claims(req: FastifyRequest, reply: FastifyReply): AckTokenClaims | undefined {
    const token = (req.query as { token?: unknown }).token;
    try {
      if (typeof token !== 'string' || token === '') throw new AckTokenError('missing ?token=', 'malformed');
      return verifyAckToken(opts.key, token, opts.now ? Math.floor(opts.now() / 1000) : undefined);
    } catch (err) {
      if (!(err instanceof AckTokenError)) throw err;
      ackRejected.inc({ problem: err.problem });
      req.log.warn({ problem: err.problem, ip: req.ip }, 'acknowledge link refused');
      const status = STATUS[err.problem];
      if (wantsHtml(req)) void reply.code(status).type('text/html').send(page('Link not valid', `<p>${esc(err.message)}</p>`));
      else void reply.code(status).send({ error: err.problem, message: err.message });
      return undefined;
    }
  }

  app.get(ACK_LINK_PATH, { schema: { hide: true } }, async (req, reply) => {
    const c = claims(req, reply);
    if (!c) return reply;
    const action = `${ACK_LINK_PATH}?token=${encodeURIComponent((req.query as { token: string }).token)}`;
    return reply
      .type('text/html')
      .send(
        page(
          `Acknowledge ${c.alertId}?`,
          `<p>As ${esc(c.target)} (via ${c.via}).</p><form method="post" action="${esc(action)}"><button type="submit">Acknowledge</button></form>`,
        ),
      );
  });

  app.post(ACK_LINK_PATH, { schema: { hide: true } }, async (req, reply) => {
    const c = claims(req, reply);
    if (!c) return reply;
    if ((await opts.services.alerts.get(c.alertId)) === undefined) return reply.code(404).send({ error: 'not_found', message: `no alert ${c.alertId}` });
    const by = `${c.via}:${c.target}`;
    let result: unknown;
    try {
      result = await opts.services.alerts.ack(c.alertId, by, c.via);
    } catch (err) {
      if (err instanceof AlertOperationError && alertErrorStatus(err) !== 503) return reply.code(alertErrorStatus(err)).send({ error: err.code, message: err.message });
      throw err;
    }
    req.log.info({ alertId: c.alertId, via: c.via, by }, 'acknowledged from a signed link');
    const receipt = (result as { receipt?: { txHash?: string } } | undefined)?.receipt;
    if (wantsHtml(req)) return reply.type('text/html').send(page('Acknowledged', `<p>${esc(c.alertId)} acknowledged${receipt?.txHash ? ` (tx ${esc(receipt.txHash)})` : ''}.</p>`));
    return { acknowledged: true, alertId: c.alertId, by, via: c.via, result };
  });
};

export default notifyAckRoutes;
