// The live edit-conflict tracking of an open document: a change made elsewhere refreshes a form
// without unsaved edits (and says so), turns one with unsaved edits into a conflict (kept until
// the user reloads), and a deletion elsewhere is shown. Events that arrive while one of the form's
// own requests runs are judged once it has answered (flushPending), so the form's own change,
// echoed back, is not taken for someone else's. docs/reference/desk.md, "Live updates".
import { useLayoutEffect, useRef, useState } from "react";
import type { LiveEvent } from "@refinedev/core";
import type { Doc } from "../../providers";
import { eventTouches, sameTimestamp } from "../docState";
import type { DocumentState } from "./useDocumentState";

export function useLiveConflict(doc: DocumentState) {
  const { loadedRef, dirtyRef, busyRef, liveHandlerRef, query, resetTo, setBusy, setFormError } = doc;
  const [conflict, setConflict] = useState(false);
  const [liveUpdated, setLiveUpdated] = useState(false);
  const [goneElsewhere, setGoneElsewhere] = useState(false);
  const pendingEvents = useRef<LiveEvent[]>([]);

  const handleLive = (e: LiveEvent) => {
    const cur = loadedRef.current;
    if (!cur) return;
    // "*": the stream lost events (reset); the document may or may not have changed
    const maybe = e.type === "*";
    if (!maybe && !eventTouches(e, cur)) return;
    if (busyRef.current) {
      pendingEvents.current.push(e); // judged once our own request has answered
      return;
    }
    if (e.type === "deleted" || e.payload?.topic === "doc.deleted") {
      setGoneElsewhere(true);
      return;
    }
    const p = e.payload ?? {};
    if (p.modified !== undefined && sameTimestamp(p.modified, cur.modified)) {
      if (p.docstatus === undefined || p.docstatus === cur.docstatus) return; // our own change echoed back
    }
    if (dirtyRef.current) {
      if (!maybe) setConflict(true);
      return;
    }
    void query.refetch().then((r) => {
      const fresh = r.data?.data as Doc | undefined;
      if (!fresh || dirtyRef.current) return;
      const changed = !sameTimestamp(fresh.modified, cur.modified) || fresh.docstatus !== cur.docstatus;
      resetTo(fresh);
      if (changed || !maybe) setLiveUpdated(true);
    });
  };
  // The query's live events reach the handler of the latest render.
  useLayoutEffect(() => {
    liveHandlerRef.current = handleLive;
  });

  /** Judges the events that arrived while a request of the form's own was running. */
  const flushPending = () => {
    const evs = pendingEvents.current;
    pendingEvents.current = [];
    evs.forEach((e) => handleLive(e));
  };

  /** Shows the current version, discarding the unsaved edits (the conflict's way out). */
  const reload = async () => {
    setBusy("reload");
    try {
      const r = await query.refetch();
      if (r.data?.data) resetTo(r.data.data as Doc);
      setConflict(false);
      setLiveUpdated(false);
      setFormError(null);
    } finally {
      setBusy(null);
    }
  };

  return { conflict, setConflict, liveUpdated, setLiveUpdated, goneElsewhere, flushPending, reload };
}

export type LiveConflict = ReturnType<typeof useLiveConflict>;
