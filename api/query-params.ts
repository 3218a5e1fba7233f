/**
 * Query/path parameters the read routes share, so each rule is stated (and
 * documented in the OpenAPI document) once: /v1/devices/* and /v1/console/*.
 */
import { z } from 'zod';

/**
 * A device id as a parameter: any text up to the ingest bound. Control characters are not refused
 * here (a pattern like `^\P{Cc}+$` is one schemathesis cannot generate from, and the id is otherwise
 * valid): the handler answers "nothing stored" for one (api/control-chars.ts), without asking InfluxDB.
 */
export const deviceIdParam = z.string().min(1).max(256);

/** Exactly what the document says (format date-time, with offset): Date.parse would also take "0.5" or "2020". */
export const rfc3339Time = z.iso.datetime({ offset: true, message: 'expected an RFC 3339 time' });
