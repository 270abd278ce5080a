// The notices above a form's fields: the edit conflict (with its Reload), a refresh after a live
// change, a deletion elsewhere, and the error of the last request (data-testids of
// desk/CONTRACT.md; the texts are the ones the end-to-end tests read).
import { Alert, Button } from "antd";
import { ReloadOutlined } from "@ant-design/icons";

export function FormAlerts({
  conflict,
  liveUpdated,
  goneElsewhere,
  formError,
  reloading,
  onReload,
  onCloseLiveUpdated,
  onCloseError,
}: {
  conflict: boolean;
  liveUpdated: boolean;
  goneElsewhere: boolean;
  formError: string | null;
  reloading: boolean;
  onReload: () => void;
  onCloseLiveUpdated: () => void;
  onCloseError: () => void;
}) {
  return (
    <>
      {conflict && (
        <Alert
          data-testid="form-conflict"
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          message="This document was modified by someone else after you opened it."
          description="Your changes are kept in the form until you reload; reloading shows the current version and discards them."
          action={
            <Button data-testid="form-reload" icon={<ReloadOutlined />} loading={reloading} onClick={onReload}>
              Reload
            </Button>
          }
        />
      )}
      {liveUpdated && !conflict && (
        <Alert
          data-testid="form-live-updated"
          type="info"
          showIcon
          closable
          onClose={onCloseLiveUpdated}
          style={{ marginBottom: 16 }}
          message="This document was changed elsewhere; the form shows the latest version."
        />
      )}
      {goneElsewhere && (
        <Alert
          data-testid="form-deleted-elsewhere"
          type="error"
          showIcon
          style={{ marginBottom: 16 }}
          message="This document was deleted by someone else."
        />
      )}
      {formError && (
        <Alert
          data-testid="form-error"
          type="error"
          showIcon
          closable
          onClose={onCloseError}
          style={{ marginBottom: 16, whiteSpace: "pre-line" }}
          message={formError}
        />
      )}
    </>
  );
}
