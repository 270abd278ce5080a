// The version history of a track_changes document (GET /api/v1/<dt>/<id>/versions).
import { useQuery } from "@tanstack/react-query";
import { Card, Empty, Timeline, Typography } from "antd";
import { apiFetch, type FieldMeta } from "../providers";
import { formatValue } from "./format";

type Change = [string, unknown, unknown];
export interface Version {
  creation: string;
  owner: string;
  data: {
    changed?: Change[];
    added?: [string, Record<string, unknown>][];
    removed?: [string, Record<string, unknown>][];
    row_changed?: [string, number, Change[]][];
  };
}

function show(f: FieldMeta | undefined, v: unknown): string {
  if (v === null || v === undefined || v === "") return "∅";
  if (!f) return typeof v === "object" ? JSON.stringify(v) : String(v);
  if (f.type === "check") return v ? "Yes" : "No";
  return formatValue(f, v);
}

/** Human-readable lines for one version entry. */
export function describeVersion(v: Version, fields: Map<string, FieldMeta>, child: (t: string) => Map<string, FieldMeta>): string[] {
  const lines: string[] = [];
  const label = (m: Map<string, FieldMeta>, n: string) => m.get(n)?.label || n;
  for (const [f, a, b] of v.data.changed ?? []) lines.push(`${label(fields, f)}: ${show(fields.get(f), a)} → ${show(fields.get(f), b)}`);
  for (const [t, row] of v.data.added ?? []) lines.push(`${label(fields, t)}: row added${row?.idx ? ` #${String(row.idx)}` : ""}`);
  for (const [t, row] of v.data.removed ?? []) lines.push(`${label(fields, t)}: row removed${row?.idx ? ` #${String(row.idx)}` : ""}`);
  for (const [t, idx, changes] of v.data.row_changed ?? []) {
    const cm = child(t);
    for (const [f, a, b] of changes) lines.push(`${label(fields, t)} row ${idx}, ${label(cm, f)}: ${show(cm.get(f), a)} → ${show(cm.get(f), b)}`);
  }
  if (lines.length === 0) lines.push("saved");
  return lines;
}

export function VersionsPanel({
  doctype,
  id,
  modified,
  fields,
  childFields,
}: {
  doctype: string;
  id: string;
  modified: string | undefined;
  fields: FieldMeta[];
  childFields: (table: string) => FieldMeta[];
}) {
  const { data, error, isLoading } = useQuery({
    queryKey: ["fm-versions", doctype, id, modified],
    queryFn: () =>
      apiFetch<{ items: Version[] }>(`/api/v1/${encodeURIComponent(doctype)}/${encodeURIComponent(id)}/versions`),
    retry: false,
  });
  const byName = new Map(fields.map((f) => [f.name, f]));
  const child = (t: string) => new Map(childFields(t).map((f) => [f.name, f]));
  const status = (error as { statusCode?: number } | null)?.statusCode;
  const items = [...(data?.items ?? [])].reverse(); // newest first

  return (
    <Card data-testid="form-versions" title="Version history" size="small" style={{ marginTop: 24 }} loading={isLoading}>
      {error ? (
        <Typography.Text type="secondary">
          {status === 404 ? "No version history is available." : `Could not load the history: ${(error as Error).message}`}
        </Typography.Text>
      ) : items.length === 0 ? (
        <Empty description="No versions yet" image={Empty.PRESENTED_IMAGE_SIMPLE} />
      ) : (
        <Timeline
          items={items.map((v, i) => ({
            key: i,
            children: (
              <div data-testid="version-item">
                <Typography.Text type="secondary">
                  {v.owner} · {formatValue({ type: "datetime" }, v.creation)}
                </Typography.Text>
                {describeVersion(v, byName, child).map((l, j) => (
                  <div key={j}>{l}</div>
                ))}
              </div>
            ),
          }))}
        />
      )}
    </Card>
  );
}
