// Reading the API's answers: the body of a response, and an error reply as an ApiError (the
// API's error body {error, message, details}: docs/reference/desk.md, "Data provider"; the
// structured details: docs/reference/http-api.md, "Errors", read by ./errors.ts). Used by the
// HTTP client (src/providers/http.ts, which re-exports ApiError).
import type { ErrorKind } from "./types";
import { conflictFrom, fieldErrorsFrom, type ConflictReason, type RowErrors } from "./errors";

/**
 * An error answered by the API (or statusCode 0 when the server could not be reached).
 * Satisfies Refine's HttpError: `statusCode`, `message`, `errors`.
 */
export class ApiError extends Error {
  statusCode: number;
  /**
   * The API's error kind (docs/reference/desk.md, "Data provider"): ValidationError,
   * PermissionDenied, NotFound, Conflict, ...
   */
  error: ErrorKind | string;
  /** the API's `details` as answered (docs/reference/http-api.md, "Errors") */
  details: unknown;
  /**
   * field path → messages, from a 400's list of field errors: "customer", "items.1.qty" (a child
   * row's field, rows from 0), "items.1" (the row itself)
   */
  errors: Record<string, string[]>;
  /** child row errors by table field → 0-based row → child field → messages */
  rowErrors?: RowErrors;
  /** a 409's `details.reason`: stale, duplicate_name, duplicate_id, duplicate_value, duplicate_row_id, job_state */
  reason?: ConflictReason | string;
  /** a 409's `details.field`: the duplicate's field (the naming field, "name" for prompt naming) */
  conflictField?: string;
  /** a 409's `details.row` (duplicate_row_id), from 1 as the server counts */
  conflictRow?: number;
  /** a 409's `details.message`: the text to show at `conflictField` */
  conflictMessage?: string;

  constructor(statusCode: number, error: ErrorKind | string, message: string, details: unknown = null) {
    super(message);
    this.name = "ApiError";
    this.statusCode = statusCode;
    this.error = error;
    this.details = details;
    const parsed = fieldErrorsFrom(details);
    this.errors = parsed.errors;
    if (Object.keys(parsed.rowErrors).length) this.rowErrors = parsed.rowErrors;
    const conflict = statusCode === 409 || error === "Conflict" ? conflictFrom(details) : null;
    if (conflict) {
      this.reason = conflict.reason;
      if (typeof conflict.field === "string") this.conflictField = conflict.field;
      if (typeof conflict.row === "number") this.conflictRow = conflict.row;
      if (typeof conflict.message === "string") this.conflictMessage = conflict.message;
    }
  }
}

const KIND_BY_STATUS: Record<number, ErrorKind> = {
  400: "ValidationError",
  401: "PermissionDenied",
  403: "PermissionDenied",
  404: "NotFound",
  409: "Conflict",
  413: "ValidationError",
  429: "TooManyRequests",
  503: "ServiceUnavailable",
  504: "ServiceUnavailable",
};

/** A response's body: its JSON, its text, or undefined when it has none. */
export async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204 || res.status === 205) return undefined;
  const text = await res.text();
  if (!text) return undefined;
  const type = res.headers.get("Content-Type") ?? "";
  if (type.includes("json") || /^[[{]/.test(text.trim())) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** Is this body the API's error body ({error, message, details})? */
export function isSpecError(body: unknown): body is { error: string; message: string; details?: unknown } {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { error?: unknown }).error === "string" &&
    typeof (body as { message?: unknown }).message === "string"
  );
}

/** The ApiError of a non-2xx answer. */
export function toApiError(status: number, body: unknown, statusText: string): ApiError {
  if (isSpecError(body)) return new ApiError(status, body.error, body.message, body.details ?? null);
  const kind = KIND_BY_STATUS[status] ?? "InternalError";
  const text = typeof body === "string" && body.length < 300 ? body : "";
  return new ApiError(status, kind, text || statusText || `HTTP ${status}`);
}
