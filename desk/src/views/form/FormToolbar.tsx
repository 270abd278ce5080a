// The form's header: the way back to the list, the document's title, its docstatus and unsaved
// state, and the buttons of what the user may do with it (data-testids of desk/CONTRACT.md).
import { Link } from "react-router";
import { Button, Space, Tag, Typography } from "antd";
import { DeleteOutlined, SaveOutlined } from "@ant-design/icons";
import type { DocTypeMeta } from "../../providers";
import { listPath } from "../../routes";
import type { Capabilities } from "../docState";
import type { Busy } from "./useDocumentState";

const DOCSTATUS = ["Draft", "Submitted", "Cancelled"] as const;
const DOCSTATUS_COLOR = ["blue", "green", "red"] as const;

export interface FormActions {
  save: () => Promise<unknown>;
  submit: () => Promise<unknown>;
  confirmCancel: () => void;
  confirmDelete: () => void;
}

function FormHeading({ doctype, meta, title, docstatus, dirty }: {
  doctype: string;
  meta: DocTypeMeta;
  title: string;
  docstatus: number;
  dirty: boolean;
}) {
  return (
    <Space align="center" wrap>
      <Link to={listPath(doctype)}>{meta.label}</Link>
      <span>/</span>
      <Typography.Title level={3} style={{ margin: 0 }} data-testid="form-title">
        {title}
      </Typography.Title>
      {meta.is_submittable && (
        <Tag data-testid="docstatus" color={DOCSTATUS_COLOR[docstatus] ?? "default"}>
          {DOCSTATUS[docstatus] ?? `docstatus ${docstatus}`}
        </Tag>
      )}
      {dirty && <Tag color="orange">Not saved</Tag>}
    </Space>
  );
}

function FormButtons({ can, busy, actions }: { can: Capabilities; busy: Busy; actions: FormActions }) {
  return (
    <Space wrap>
      {can.delete && (
        <Button data-testid="form-delete" danger icon={<DeleteOutlined />} onClick={actions.confirmDelete} loading={busy === "delete"}>
          Delete
        </Button>
      )}
      {can.cancel && (
        <Button data-testid="form-cancel-doc" danger loading={busy === "cancel"} onClick={() => actions.confirmCancel()}>
          Cancel
        </Button>
      )}
      {can.submit && (
        <Button data-testid="form-submit" loading={busy === "submit"} onClick={() => void actions.submit()}>
          Submit
        </Button>
      )}
      {can.save && (
        <Button
          data-testid="form-save"
          type="primary"
          icon={<SaveOutlined />}
          loading={busy === "save"}
          disabled={busy !== null && busy !== "save"}
          onClick={() => void actions.save()}
        >
          Save
        </Button>
      )}
    </Space>
  );
}

export function FormToolbar(props: {
  doctype: string;
  meta: DocTypeMeta;
  title: string;
  docstatus: number;
  dirty: boolean;
  can: Capabilities;
  busy: Busy;
  actions: FormActions;
}) {
  return (
    <Space style={{ width: "100%", justifyContent: "space-between", marginBottom: 16 }} wrap>
      <FormHeading {...props} />
      <FormButtons {...props} />
    </Space>
  );
}
