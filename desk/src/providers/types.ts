// Shapes of the server's metadata and identity replies (server/src/app.cpp: field_json,
// doctype_summary, meta_one, me). Keep these in step with the server, not with guesses.

/** Field types as the server names them (core/src/doctype.cpp k_type_names). */
export type FieldType =
  | "data"
  | "text"
  | "int"
  | "float"
  | "decimal"
  | "check"
  | "date"
  | "datetime"
  | "time"
  | "uuid"
  | "json"
  | "select"
  | "link"
  | "table"
  | "password";

export interface FieldMeta {
  name: string;
  type: FieldType;
  label: string;
  required: boolean;
  unique: boolean;
  /** true for standard fields (id, name, owner, ...) too */
  read_only: boolean;
  hidden: boolean;
  in_list_view: boolean;
  allow_on_submit: boolean;
  default?: unknown;
  /** link/table: the target DocType name; select: the choices */
  options?: string | string[];
  description?: string;
  min?: number;
  max?: number;
  min_length?: number;
  max_length?: number;
  pattern?: string;
  precision?: number;
}

export type PermissionAction = "read" | "write" | "create" | "delete" | "submit" | "cancel";
export type Permissions = Record<PermissionAction, boolean>;

/** Free-form UI hints of a DocType (icon, group, list columns, ...). */
export interface UiMeta {
  icon?: string;
  group?: string;
  [key: string]: unknown;
}

/** One item of GET /api/meta/doctypes → {items: DocTypeSummary[]}. */
export interface DocTypeSummary {
  name: string;
  label: string;
  module: string;
  app: string;
  is_submittable: boolean;
  is_child_table: boolean;
  is_single: boolean;
  show_in_desk: boolean;
  api_resource: boolean;
  track_changes: boolean;
  ui_meta: UiMeta;
  permissions: Permissions;
}

/** GET /api/meta/{doctype}. */
export interface DocTypeMeta extends DocTypeSummary {
  naming_rule: string;
  title_field: string;
  sort_field: string;
  sort_order: string;
  apply_rls: boolean;
  fields: FieldMeta[];
  standard_fields: FieldMeta[];
  /** child DocTypes of the table fields, keyed by child DocType name */
  child_doctypes: Record<string, { fields: FieldMeta[] }>;
  methods: string[];
}

/** GET /api/v1/auth/me when logged in. */
export interface CurrentUser {
  authenticated: true;
  id: string;
  email: string;
  /** full name, or the email when there is none */
  name: string;
  roles: string[];
}

/** GET /api/v1/auth/me reply: a CurrentUser or {authenticated: false}. */
export type MeReply = CurrentUser | { authenticated: false };

/** The API's error kinds (the `error` member of an error body): docs/reference/desk.md, "Data provider". */
export type ErrorKind =
  | "ValidationError"
  | "PermissionDenied"
  | "NotFound"
  | "Conflict"
  | "TooManyRequests"
  | "ServiceUnavailable"
  | "InternalError"
  | "NetworkError";

/** A document as the API returns it: standard fields plus the DocType's own. */
export interface Doc {
  id: string;
  name: string;
  owner?: string;
  creation?: string;
  modified?: string;
  modified_by?: string;
  docstatus?: number;
  [field: string]: unknown;
}
