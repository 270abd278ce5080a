// One control per field type; Form.Item injects id (= the field's name path), value and onChange.
import type { ReactElement } from "react";
import { Checkbox, DatePicker, Form, Input, InputNumber, Select, TimePicker } from "antd";
import type { FieldMeta } from "../providers";
import { LinkSelect } from "./LinkSelect";
import { fieldRules } from "./rules";

export function selectOptions(f: FieldMeta): { value: string; label: string }[] {
  const opts = Array.isArray(f.options)
    ? f.options
    : typeof f.options === "string"
      ? f.options.split("\n").filter(Boolean)
      : [];
  return opts.map((o) => ({ value: o, label: o }));
}

export function controlFor(f: FieldMeta, disabled: boolean, compact = false): ReactElement {
  const full = { width: "100%" };
  switch (f.type) {
    case "text":
      return <Input.TextArea disabled={disabled} autoSize={{ minRows: compact ? 1 : 3, maxRows: 12 }} />;
    case "int":
      return <InputNumber disabled={disabled} precision={0} style={full} />;
    case "float":
    case "decimal":
      return <InputNumber disabled={disabled} precision={f.precision ?? undefined} style={full} />;
    case "check":
      return <Checkbox disabled={disabled} />;
    case "date":
      return <DatePicker disabled={disabled} format="YYYY-MM-DD" style={full} />;
    case "datetime":
      return <DatePicker disabled={disabled} showTime format="YYYY-MM-DD HH:mm:ss" style={full} />;
    case "time":
      return <TimePicker disabled={disabled} format="HH:mm:ss" style={full} />;
    case "json":
      return (
        <Input.TextArea
          disabled={disabled}
          autoSize={{ minRows: compact ? 1 : 3, maxRows: 16 }}
          style={{ fontFamily: "monospace" }}
          placeholder="JSON"
        />
      );
    case "select":
      return <Select disabled={disabled} allowClear options={selectOptions(f)} style={full} />;
    case "link":
      return <LinkSelect disabled={disabled} target={typeof f.options === "string" ? f.options : ""} />;
    case "password":
      return <Input.Password disabled={disabled} autoComplete="new-password" placeholder={compact ? "" : "unchanged"} />;
    default: // data, uuid
      return <Input disabled={disabled} />;
  }
}

/** A labelled form item for a field, wrapped in data-testid="field-<name>". */
export function FieldItem({ field, disabled }: { field: FieldMeta; disabled: boolean }) {
  return (
    <div data-testid={`field-${field.name}`}>
      <Form.Item
        name={field.name}
        label={field.label || field.name}
        rules={disabled ? [] : fieldRules(field)}
        valuePropName={field.type === "check" ? "checked" : "value"}
        extra={field.description}
        required={field.required && field.type !== "check"}
      >
        {controlFor(field, disabled)}
      </Form.Item>
    </div>
  );
}
