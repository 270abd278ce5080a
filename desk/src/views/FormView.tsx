// /app/:doctype/new and /app/:doctype/:id — a form generated from the DocType's metadata: every
// field type, child tables, server errors on the fields, optimistic concurrency (409), submit /
// cancel, live refresh of the open document, version history (the parts are in ./form/).
import { Alert } from "antd";
import { useDoctypeMeta } from "../providers";
import { PageSpinner } from "../shell/DeskLayout";
import { DocForm } from "./form/DocForm";

export default function FormView({ doctype, id }: { doctype: string; id?: string }) {
  const { data: meta, error, isLoading } = useDoctypeMeta(doctype);
  if (isLoading) return <PageSpinner />;
  if (error || !meta)
    return (
      <Alert data-testid="form-error" type="error" showIcon message={(error as Error | null)?.message || `Unknown DocType ${doctype}`} />
    );
  return <DocForm doctype={doctype} id={id} meta={meta} />;
}
