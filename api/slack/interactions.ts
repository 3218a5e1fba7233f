/**
 * Slack interactivity endpoint: `POST /slack/interactions` (set it as the
 * app's Interactivity Request URL). Verifies Slack's request signature over
 * the RAW body before anything is parsed, then turns a block_actions button
 * click into an `onAction` call (which signals the alert workflow).
 *
 * Slack waits 3 s for the HTTP answer and shows an error to the user after
 * that, so the handler is awaited for at most `ackTimeoutMs` (2.5 s); the
 * answer is always an empty 200 once the signature is good (for block_actions
 * Slack ignores the body; the message itself is refreshed by chat.update).
 * Handler errors are logged, never sent to Slack.
 *
 * Register without fastify-plugin: the raw-body content-type parsers must stay
 * encapsulated in this plugin and not leak into the JSON API.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { parseActionId, type SlackAlertAction, type SnoozeDuration } from '../../activities/slack/action-ids.ts';
import { SLACK_SIGNATURE_HEADER, SLACK_TIMESTAMP_HEADER, verifySlackSignature } from './signature.ts';
import { FixedWindowLimiter } from '../fixed-window-limiter.ts';

export const SLACK_INTERACTIONS_PATH = '/slack/interactions';
/** Slack's deadline is 3 s; leave room for the network. */
export const DEFAULT_ACK_TIMEOUT_MS = 2_500;
/** Interaction payloads carry the whole message; Slack's are well under this. */
export const INTERACTION_BODY_LIMIT_BYTES = 1024 * 1024;

/** One button click, as handed to the alert stage. */
export interface SlackActionInput {
  action: SlackAlertAction;
  alertId: string;
  user: { id: string; name: string };
  /** Only for `snooze`: a Temporal duration string ('15m', '1h', '4h'). */
  snoozeFor?: SnoozeDuration;
  /** Where the click happened (for logs or an ephemeral answer via response_url). */
  source?: { channel?: string; messageTs?: string; responseUrl?: string; teamId?: string };
}

export interface SlackInteractionsOptions {
  signingSecret: string;
  onAction: (input: SlackActionInput) => Promise<void>;
  /** Clock in Unix seconds (tests). */
  now?: () => number;
  /** How long to wait for onAction before answering Slack anyway, ms. */
  ackTimeoutMs?: number;
  /**
   * Budgets per minute: `signed` for callbacks whose signature verified (Slack's own bucket, so bad-key
   * or forged traffic from anywhere cannot use it up), `unsigned` per client IP for refused ones.
   */
  rateLimit?: { signedPerMin: number; unsignedPerMin: number };
}

interface BlockActionsPayload {
  type?: string;
  user?: { id?: string; username?: string; name?: string; team_id?: string };
  team?: { id?: string };
  channel?: { id?: string };
  container?: { channel_id?: string; message_ts?: string };
  message?: { ts?: string };
  response_url?: string;
  actions?: { action_id?: string; value?: string; selected_option?: { value?: string } }[];
}

/** Extract the clicks this app understands from a block_actions payload. */
export function actionsFromPayload(payload: BlockActionsPayload): SlackActionInput[] {
  if (payload.type !== 'block_actions' || !Array.isArray(payload.actions)) return [];
  const user = payload.user ?? {};
  if (typeof user.id !== 'string' || user.id === '') return [];
  const name = user.username ?? user.name ?? user.id;
  const source = {
    channel: payload.container?.channel_id ?? payload.channel?.id,
    messageTs: payload.container?.message_ts ?? payload.message?.ts,
    responseUrl: payload.response_url,
    teamId: payload.team?.id ?? user.team_id,
  };
  const out: SlackActionInput[] = [];
  for (const a of payload.actions) {
    const parsed = parseActionId(a?.action_id);
    const alertId = a?.value ?? a?.selected_option?.value;
    if (!parsed || typeof alertId !== 'string' || alertId === '' || alertId.length > 2000) continue;
    out.push({ ...parsed, alertId, user: { id: user.id, name }, source });
  }
  return out;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? undefined : v;
}

/** Fastify plugin: `app.register(slackInteractions, { signingSecret, onAction })`. */
export const slackInteractions: FastifyPluginAsync<SlackInteractionsOptions> = async (app, opts) => {
  if (!opts.signingSecret) throw new TypeError('slackInteractions: signingSecret is required');
  const ackTimeoutMs = opts.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  const signed = new FixedWindowLimiter(opts.rateLimit?.signedPerMin ?? 600);
  const unsigned = new FixedWindowLimiter(opts.rateLimit?.unsignedPerMin ?? 120);

  // Keep every body as the exact string received: the signature covers those bytes,
  // and a JSON body must not be rejected by the JSON parser before it is verified.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: INTERACTION_BODY_LIMIT_BYTES }, (_req, body, done) => {
    done(null, body);
  });

  // Not in the OpenAPI document: Slack's own callback, not an API for clients (and only Slack can sign it).
  app.post(SLACK_INTERACTIONS_PATH, { schema: { hide: true } }, async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : undefined;
    const ok = verifySlackSignature({
      signingSecret: opts.signingSecret,
      timestamp: header(req, SLACK_TIMESTAMP_HEADER),
      signature: header(req, SLACK_SIGNATURE_HEADER),
      body: raw,
      now: opts.now?.(),
    });
    // Counted after the HMAC check: only Slack can spend the signed bucket.
    const limit = ok ? signed.hit('slack') : unsigned.hit(req.ip);
    if (!limit.allowed) {
      return reply
        .code(429)
        .header('retry-after', String(limit.retryAfterS))
        .send({ error: 'rate_limited', message: `too many ${ok ? 'Slack callbacks' : 'unsigned requests'}; retry in ${limit.retryAfterS} s` });
    }
    if (!ok) {
      req.log.warn({ ip: req.ip }, 'slack interaction refused: bad or stale signature');
      return reply.code(401).send({ error: 'invalid_signature', message: 'invalid or stale Slack signature (X-Slack-Signature, X-Slack-Request-Timestamp)' });
    }

    const contentType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/x-www-form-urlencoded') {
      return reply.code(400).send({ error: 'bad_request', message: 'expected application/x-www-form-urlencoded' });
    }
    const form = new URLSearchParams(raw);
    if (form.get('ssl_check') === '1') return reply.code(200).send();
    const payloadText = form.get('payload');
    if (!payloadText) return reply.code(400).send({ error: 'bad_request', message: 'missing payload field' });
    let payload: BlockActionsPayload;
    try {
      payload = JSON.parse(payloadText) as BlockActionsPayload;
    } catch {
      return reply.code(400).send({ error: 'bad_request', message: 'payload is not JSON' });
    }
    if (payload === null || typeof payload !== 'object') {
      return reply.code(400).send({ error: 'bad_request', message: 'payload is not an object' });
    }

    const actions = actionsFromPayload(payload);
    if (actions.length === 0) {
      req.log.info({ type: payload.type }, 'slack interaction ignored: no alert action');
      return reply.code(200).send();
    }

    const log = req.log;
    const work = Promise.all(
      actions.map(async (a) => {
        try {
          await opts.onAction(a);
          log.info({ action: a.action, alertId: a.alertId, user: a.user.id }, 'slack action handled');
        } catch (err) {
          log.error({ err, action: a.action, alertId: a.alertId, user: a.user.id }, 'slack action failed');
        }
      }),
    );
    // Wait for the handler while Slack's clock allows, then answer regardless; it keeps running.
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      work.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), ackTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (late) log.warn({ ackTimeoutMs }, 'slack action still running; answered Slack before it finished');
    return reply.code(200).send();
  });
};

export default slackInteractions;
