// Boot: takes what index.html's boot script (src/boot-prefetch.js) prefetched (the session, the
// Desk's DocTypes, the DocType of an /app/<DocType> URL), seeds the shared QueryClient with it, and
// starts the first list page's request (listRequestOf: the very request the list view makes), so
// the first render already knows who is logged in, the sidebar and the DocType's metadata, and
// nothing is fetched twice.
import type { QueryClient } from "@tanstack/react-query";
import { keys } from "@refinedev/core";
import { metaKeys } from "./providers/meta";
import { primeSession } from "./providers/http";
import { prefetchList } from "./providers/dataProvider";
import type { DocTypeMeta, DocTypeSummary, MeReply } from "./providers/types";
import { listRequestOf } from "./views/listParams";
import { viewOf } from "./routes";

export interface BootPrefetch {
  at: number;
  me: Promise<MeReply | null>;
  doctypes: Promise<{ items: DocTypeSummary[] } | null>;
  doctype: string | null;
  meta: Promise<DocTypeMeta | null> | null;
}

declare global {
  interface Window {
    __fmBoot?: BootPrefetch;
  }
}

/** How long the first render waits for the prefetched answers (they normally arrive first). */
const MAX_WAIT = 2000;
/** Answers older than this are not trusted (a page kept in the back/forward cache, say). */
const MAX_AGE = 10_000;

function within<T>(p: Promise<T> | null | undefined, ms: number): Promise<T | null> {
  if (!p) return Promise.resolve(null);
  return Promise.race([p.catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), ms))]);
}

/** Seeds `queryClient` from the boot prefetch, if there is one; never throws. */
export async function primeFromBoot(queryClient: QueryClient, win: Window = window): Promise<void> {
  const boot = win.__fmBoot;
  delete win.__fmBoot;
  if (!boot || Date.now() - boot.at > MAX_AGE) return;
  try {
    const [me, doctypes, meta] = await Promise.all([
      within(boot.me, MAX_WAIT),
      within(boot.doctypes, MAX_WAIT),
      within(boot.meta, MAX_WAIT),
    ]);
    if (!me?.authenticated) return; // the normal flow: refresh, or the login page
    primeSession(me, boot.at);
    queryClient.setQueryData(metaKeys.me, me);
    // Refine's useIsAuthenticated: known at once; its first check is answered by primeSession.
    queryClient.setQueryData(keys().auth().action("check").get(), { authenticated: true });
    if (doctypes?.items) queryClient.setQueryData(metaKeys.doctypes, doctypes.items);
    if (meta && boot.doctype) {
      queryClient.setQueryData(metaKeys.doctype(boot.doctype), meta);
      // A list URL (/app/<DocType>, not a form): its first page, as the list view will ask for it.
      if (viewOf(win.location.pathname) === "list") {
        await within(prefetchList(boot.doctype, listRequestOf(meta, new URLSearchParams(win.location.search))), MAX_WAIT);
      }
    }
  } catch {
    // Only a bug gets here: the hooks fetch what they need themselves.
  }
}
