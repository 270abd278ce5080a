// Public surface of the providers (desk/CONTRACT.md "Providers").
export { apiFetch, ApiError, SERVER_DOWN_MESSAGE } from "./http";
export type { ApiInit } from "./http";
export type { ConflictDetail, ConflictReason, FieldErrorCode, FieldErrorDetail, RowErrors } from "./errors";
export { authProvider } from "./authProvider";
export { dataProvider, frameworkMDataProvider, primedListResult } from "./dataProvider";
export { liveProvider } from "./liveProvider";
export { useDoctypes, useDoctypeMeta, useCurrentUser, metaKeys } from "./meta";
export type { Identity } from "./authProvider";
export type { DocEventPayload } from "./liveProvider";
export { SessionGuards } from "./SessionGuards";
export type {
  CurrentUser,
  Doc,
  DocTypeMeta,
  DocTypeSummary,
  ErrorKind,
  FieldMeta,
  FieldType,
  MeReply,
  Permissions,
  PermissionAction,
  UiMeta,
} from "./types";
