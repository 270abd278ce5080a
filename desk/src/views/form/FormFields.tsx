// The form's controls, one per visible field (tables as child tables; the name first when the
// DocType prompts for it), and the read-only "Document" section of a saved document's standard
// fields. Field wrappers are data-testid="field-<name>" with the control's id = the field's name.
import { Col, Form, Input, Row, Typography } from "antd";
import type { Doc, DocTypeMeta, FieldMeta } from "../../providers";
import { ChildTable } from "../ChildTable";
import { FieldItem } from "../fields";
import { formatValue } from "../format";
import type { Capabilities } from "../docState";

const INFO_FIELDS = ["name", "owner", "creation", "modified", "modified_by"];
const WIDE = new Set(["text", "json", "table"]);

const standardFields = (meta: DocTypeMeta) => new Map(meta.standard_fields.map((f) => [f.name, f]));

export function FieldGrid({
  meta,
  promptName,
  can,
  childFields,
}: {
  meta: DocTypeMeta;
  promptName: boolean;
  can: Capabilities;
  childFields: (table: FieldMeta) => FieldMeta[];
}) {
  const nameField = standardFields(meta).get("name");
  return (
    <Row gutter={24}>
      {promptName && (
        <Col xs={24} md={12}>
          <FieldItem
            field={{ ...(nameField as FieldMeta), read_only: false, required: true, label: nameField?.label ?? "Name" }}
            disabled={false}
          />
        </Col>
      )}
      {meta.fields
        .filter((f) => !f.hidden)
        .map((f) => (
          <Col key={f.name} xs={24} md={WIDE.has(f.type) ? 24 : 12}>
            {f.type === "table" ? (
              <ChildTable field={f} childFields={childFields(f)} disabled={!can.editable(f)} />
            ) : (
              <FieldItem field={f} disabled={!can.editable(f)} />
            )}
          </Col>
        ))}
    </Row>
  );
}

export function DocumentInfo({ meta, doc }: { meta: DocTypeMeta; doc: Doc }) {
  const std = standardFields(meta);
  return (
    <Form layout="vertical" component="div" style={{ marginTop: 8 }}>
      <Typography.Title level={5}>Document</Typography.Title>
      <Row gutter={24}>
        {INFO_FIELDS.map((n) => std.get(n))
          .filter((f): f is FieldMeta => !!f && !f.hidden)
          .map((f) => (
            <Col key={f.name} xs={24} md={8}>
              <div data-testid={`field-${f.name}`}>
                <Form.Item label={f.label || f.name}>
                  <Input id={f.name} disabled value={formatValue(f, doc[f.name])} />
                </Form.Item>
              </div>
            </Col>
          ))}
      </Row>
    </Form>
  );
}
