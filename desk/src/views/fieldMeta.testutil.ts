// Test helper: a FieldMeta with the server's defaults (every flag false), overridden by `extra`.
import type { FieldMeta } from "../providers";

export function fieldMeta(
  name: string,
  type: FieldMeta["type"] = "data",
  extra: Partial<FieldMeta> = {},
): FieldMeta {
  return {
    name,
    type,
    label: name,
    required: false,
    unique: false,
    read_only: false,
    hidden: false,
    in_list_view: false,
    allow_on_submit: false,
    ...extra,
  };
}
