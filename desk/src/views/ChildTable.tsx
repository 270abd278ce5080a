// A table field: an editable grid of child rows (Form.List + antd Table), one control per child
// field; cell ids are <field>_<rowIndex>_<childField> (antd's default ids for list items).
import { Button, Form, Table } from "antd";
import type { TableColumnsType } from "antd";
import type { FormListFieldData } from "antd/es/form/FormList";
import { PlusOutlined, DeleteOutlined } from "@ant-design/icons";
import type { FieldMeta } from "../providers";
import { controlFor } from "./fields";
import { fieldRules } from "./rules";
import { toControl } from "./wire";

export function newChildRow(childFields: FieldMeta[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const f of childFields) if (f.default !== undefined) row[f.name] = toControl(f.type, f.default);
  return row;
}

export function ChildTable({
  field,
  childFields,
  disabled,
}: {
  field: FieldMeta;
  childFields: FieldMeta[];
  disabled: boolean;
}) {
  const visible = childFields.filter((f) => !f.hidden);
  return (
    <div data-testid={`field-${field.name}`}>
      <Form.Item label={field.label || field.name} required={field.required}>
        <Form.List name={field.name}>
          {(rows, { add, remove }) => {
            const columns: TableColumnsType<FormListFieldData> = [
              { key: "#", title: "#", width: 48, render: (_, __, i) => i + 1 },
              ...visible.map((cf) => ({
                key: cf.name,
                title: cf.label || cf.name,
                onCell: () => ({ style: { verticalAlign: "top" as const } }),
                render: (_: unknown, row: FormListFieldData) => {
                  const off = disabled || cf.read_only;
                  return (
                    <Form.Item
                      name={[row.name, cf.name]}
                      rules={off ? [] : fieldRules(cf)}
                      valuePropName={cf.type === "check" ? "checked" : "value"}
                      style={{ margin: 0, minWidth: cf.type === "check" ? undefined : 120 }}
                    >
                      {controlFor(cf, off, true)}
                    </Form.Item>
                  );
                },
              })),
            ];
            if (!disabled)
              columns.push({
                key: "remove",
                width: 48,
                render: (_, row, i) => (
                  <Button
                    type="text"
                    danger
                    aria-label={`Remove row ${i + 1}`}
                    data-testid={`table-${field.name}-remove-${i}`}
                    icon={<DeleteOutlined />}
                    onClick={() => remove(row.name)}
                  />
                ),
              });
            return (
              <div data-testid={`table-${field.name}`}>
                <Table<FormListFieldData>
                  size="small"
                  rowKey="key"
                  columns={columns}
                  dataSource={rows}
                  pagination={false}
                  bordered
                  scroll={{ x: "max-content" }}
                  locale={{ emptyText: "No rows" }}
                />
                {!disabled && (
                  <Button
                    data-testid={`table-${field.name}-add`}
                    icon={<PlusOutlined />}
                    onClick={() => add(newChildRow(childFields))}
                    style={{ marginTop: 8 }}
                  >
                    Add row
                  </Button>
                )}
              </div>
            );
          }}
        </Form.List>
      </Form.Item>
    </div>
  );
}
