/**
 * Why an alert operation could not be done, as types the routes branch on
 * (never on message text). The alerts service turns Temporal's errors into
 * these; each maps to one HTTP status in the routes.
 */
export const ALERT_ERROR_CODES = {
  /** No such alert workflow → 404. */
  AlertNotFound: 'not_found',
  /** The alert's workflow has completed (resolved, or auto-resolved after recovering) → 409. */
  AlertClosed: 'alert_closed',
  /** The workflow refused the operation (e.g. ack of a resolved alert) → 409. */
  AlertRejected: 'conflict',
  /** The workflow did not take the operation within the answer bound (worker down) → 503; retrying is safe. */
  AlertBusy: 'alert_unavailable',
} as const;

export class AlertOperationError extends Error {
  override name = 'AlertOperationError';
  constructor(
    readonly code: (typeof ALERT_ERROR_CODES)[keyof typeof ALERT_ERROR_CODES],
    message: string,
    readonly alertId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class AlertNotFoundError extends AlertOperationError {
  override name = 'AlertNotFoundError';
  constructor(alertId: string, options?: { cause?: unknown }) {
    super(ALERT_ERROR_CODES.AlertNotFound, `no alert ${alertId}`, alertId, options);
  }
}

export class AlertClosedError extends AlertOperationError {
  override name = 'AlertClosedError';
  constructor(alertId: string, options?: { cause?: unknown }) {
    super(ALERT_ERROR_CODES.AlertClosed, `alert ${alertId} is closed (resolved); nothing left to acknowledge or resolve`, alertId, options);
  }
}

export class AlertRejectedError extends AlertOperationError {
  override name = 'AlertRejectedError';
  constructor(alertId: string, reason: string, options?: { cause?: unknown }) {
    super(ALERT_ERROR_CODES.AlertRejected, `alert ${alertId}: ${reason}`, alertId, options);
  }
}

export class AlertBusyError extends AlertOperationError {
  override name = 'AlertBusyError';
  constructor(alertId: string, waitedMs: number, options?: { cause?: unknown }) {
    super(
      ALERT_ERROR_CODES.AlertBusy,
      `the workflow of alert ${alertId} did not take the request within ${waitedMs} ms (alerts worker down?); retrying is safe`,
      alertId,
      options,
    );
  }
}

/** HTTP status of each code. */
export function alertErrorStatus(err: AlertOperationError): 404 | 409 | 503 {
  if (err.code === 'not_found') return 404;
  if (err.code === 'alert_unavailable') return 503;
  return 409;
}
