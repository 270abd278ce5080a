// Refine LiveProvider on ONE shared EventSource to /api/v1/stream (docs/reference/desk.md,
// "Live updates").
// Server format (server/src/app.cpp): "retry: 2000", then frames
//   id: <n>\nevent: doc.created|doc.updated|doc.deleted|doc.submitted|doc.cancelled\n
//   data: {"doctype","id","name","docstatus","modified","user"}
// and `event: reset` (data {"reason"}) when the events since Last-Event-ID are no longer kept.
// The browser reconnects by itself with Last-Event-ID; when it gives up (readyState CLOSED,
// e.g. a 401 or a proxy error page) we make sure the session is alive and reopen with backoff,
// resuming with ?last_event_id= so no event is lost.
import type { LiveEvent, LiveProvider } from "@refinedev/core";
import { apiUrl, ensureSession } from "./http";
import { onLogin, onLogout } from "./session";

const TOPICS: Record<string, LiveEvent["type"]> = {
  "doc.created": "created",
  "doc.updated": "updated",
  "doc.deleted": "deleted",
  // Refine knows created/updated/deleted; a docstatus change is an update of the document.
  "doc.submitted": "updated",
  "doc.cancelled": "updated",
};

export interface DocEventPayload {
  doctype: string;
  id: string;
  name: string;
  docstatus: number;
  modified: string;
  user: string;
}

interface Subscription {
  channel: string;
  types: string[];
  callback: (e: LiveEvent) => void;
  /** useOne subscriptions only want their own document */
  id?: string;
}

export interface LiveOptions {
  EventSource: typeof EventSource;
  /** reopen delays after the stream died for good (the last one repeats) */
  backoff: number[];
  /** keep the stream this long after the last subscriber left (a list → form navigation) */
  idleClose: number;
}

const options: LiveOptions = {
  EventSource: (typeof EventSource === "undefined" ? undefined : EventSource) as typeof EventSource,
  backoff: [1000, 2000, 4000, 8000, 15000, 30000],
  idleClose: 5000,
};

export function configureLive(next: Partial<LiveOptions>): void {
  Object.assign(options, next);
}

const subs = new Set<Subscription>();
let source: EventSource | null = null;
let lastEventId: string | null = null;
let reopenAttempt = 0;
let reopenTimer: ReturnType<typeof setTimeout> | null = null;
let idleTimer: ReturnType<typeof setTimeout> | null = null;
let reopening = false;

function deliver(event: LiveEvent, sub: Subscription): void {
  try {
    sub.callback(event);
  } catch (e) {
    console.error("live event handler failed", e);
  }
}

function onDocEvent(topic: string, e: MessageEvent<string>): void {
  if (e.lastEventId) lastEventId = e.lastEventId;
  let data: DocEventPayload;
  try {
    data = JSON.parse(e.data) as DocEventPayload;
  } catch {
    return;
  }
  const type = TOPICS[topic];
  const channel = `resources/${data.doctype}`;
  const event: LiveEvent = {
    channel,
    type,
    payload: { ids: [data.id], ...data, topic },
    date: new Date(),
  };
  for (const sub of [...subs]) {
    if (sub.channel !== channel) continue;
    if (!sub.types.includes("*") && !sub.types.includes(type)) continue;
    if (sub.id !== undefined && sub.id !== data.id && sub.id !== data.name) continue;
    deliver(event, sub);
  }
}

/** Everything shown may be stale: every subscriber reloads. */
function broadcastReset(reason: string): void {
  for (const sub of [...subs]) {
    deliver({ channel: sub.channel, type: "*", payload: { ids: [], reason }, date: new Date() }, sub);
  }
}

function open(): void {
  if (source || !options.EventSource) return;
  const url = apiUrl("/api/v1/stream") + (lastEventId ? `?last_event_id=${encodeURIComponent(lastEventId)}` : "");
  const es = new options.EventSource(url, { withCredentials: false });
  source = es;
  es.onopen = () => {
    reopenAttempt = 0;
  };
  for (const topic of Object.keys(TOPICS)) {
    es.addEventListener(topic, (e) => onDocEvent(topic, e as MessageEvent<string>));
  }
  es.addEventListener("reset", (e) => {
    const m = e as MessageEvent<string>;
    if (m.lastEventId) lastEventId = m.lastEventId;
    let reason = "reset";
    try {
      reason = (JSON.parse(m.data) as { reason?: string }).reason ?? reason;
    } catch {
      /* keep the default */
    }
    broadcastReset(reason);
  });
  es.onerror = () => {
    // CONNECTING: the browser retries by itself (with Last-Event-ID). CLOSED: it gave up.
    if (es.readyState === 2 /* CLOSED */) {
      if (source === es) source = null;
      scheduleReopen();
    }
  };
}

function close(): void {
  if (reopenTimer) clearTimeout(reopenTimer);
  reopenTimer = null;
  source?.close();
  source = null;
}

function scheduleReopen(): void {
  if (reopenTimer || reopening || !subs.size) return;
  const delay = options.backoff[Math.min(reopenAttempt++, options.backoff.length - 1)];
  reopenTimer = setTimeout(() => {
    reopenTimer = null;
    reopening = true;
    // Refresh the cookie (or wait for the re-login modal) first: reopening with a dead
    // session would only fail again.
    ensureSession()
      .catch(() => false)
      .then((alive) => {
        reopening = false;
        if (!subs.size) return;
        if (alive) {
          open();
          // Events may have been dropped while the stream was down; no replay id when the
          // stream never delivered one, so reload to be safe.
          if (!lastEventId) broadcastReset("reconnected");
        } else scheduleReopen();
      });
  }, delay);
}

onLogin(() => {
  // After a re-login reopen at once instead of waiting for the backoff.
  if (subs.size && !source) {
    if (reopenTimer) clearTimeout(reopenTimer);
    reopenTimer = null;
    reopenAttempt = 0;
    open();
  }
});

onLogout(() => {
  close();
  lastEventId = null;
});

export const liveProvider: LiveProvider = {
  subscribe({ channel, types, callback, params }) {
    const sub: Subscription = { channel, types: types?.length ? types : ["*"], callback };
    if (params?.subscriptionType === "useOne" && params.id !== undefined) sub.id = String(params.id);
    subs.add(sub);
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    open();
    return sub;
  },
  unsubscribe(sub: Subscription) {
    subs.delete(sub);
    if (subs.size || idleTimer) return;
    idleTimer = setTimeout(() => {
      idleTimer = null;
      if (!subs.size) close();
    }, options.idleClose);
  },
};

/** Tests only. */
export function resetLiveForTests(): void {
  close();
  subs.clear();
  lastEventId = null;
  reopenAttempt = 0;
  reopening = false;
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = null;
}
