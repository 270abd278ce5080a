// Metadata hooks (react-query; Refine's QueryClient when rendered inside <Refine>).
import { useQuery } from "@tanstack/react-query";
import { apiFetch, currentSession } from "./http";
import type { CurrentUser, DocTypeMeta, DocTypeSummary } from "./types";

// Metadata only changes with a deploy; a live session need not refetch it on every focus.
const META_STALE = 5 * 60 * 1000;

export const metaKeys = {
  doctypes: ["fm-meta", "doctypes"] as const,
  doctype: (name: string) => ["fm-meta", "doctype", name] as const,
  me: ["fm-meta", "me"] as const,
};

/** DocTypes shown in the Desk (GET /api/meta/doctypes?show_in_desk=1) the user may read. */
export function useDoctypes() {
  return useQuery({
    queryKey: metaKeys.doctypes,
    queryFn: async ({ signal }) =>
      (await apiFetch<{ items: DocTypeSummary[] }>("/api/meta/doctypes?show_in_desk=1", { signal })).items,
    staleTime: META_STALE,
  });
}

/** One DocType's fields, child tables, permissions (GET /api/meta/{name}). */
export function useDoctypeMeta(name: string | undefined) {
  return useQuery({
    queryKey: metaKeys.doctype(name ?? ""),
    queryFn: ({ signal }) => apiFetch<DocTypeMeta>(`/api/meta/${encodeURIComponent(name ?? "")}`, { signal }),
    enabled: !!name,
    staleTime: META_STALE,
  });
}

/** The logged-in user (null when nobody is). */
export function useCurrentUser() {
  return useQuery({
    queryKey: metaKeys.me,
    queryFn: async (): Promise<CurrentUser | null> => {
      const me = await currentSession(false);
      return me.authenticated ? me : null;
    },
    staleTime: META_STALE,
  });
}
