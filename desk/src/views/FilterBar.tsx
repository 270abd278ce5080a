// The list's filter bar: rows of field / operator / value; Apply puts them into the URL.
import { useState } from "react";
import { Button, DatePicker, Input, InputNumber, Select, Space, TimePicker } from "antd";
import { PlusOutlined, CloseOutlined } from "@ant-design/icons";
import type { Dayjs } from "dayjs";
import type { FieldMeta } from "../providers";
import { OP_LABELS, needsValue, operatorsFor, type FilterOp, type FilterRow } from "./filters";
import { DATE_FORMAT, TIME_FORMAT, datetimeToWire, parseDate, parseTime, parseUtcDatetime } from "./wire";

/** Fields that can be filtered on (the type has operators and the field is visible). */
export function filterableFields(fields: FieldMeta[]): FieldMeta[] {
  return fields.filter((f) => !f.hidden && operatorsFor(f.type).length > 0);
}

interface ValueProps {
  field: FieldMeta;
  op: FilterOp;
  value: unknown;
  onChange: (v: unknown) => void;
  testId: string;
}

function dayjsOf(field: FieldMeta, v: unknown): Dayjs | null {
  if (typeof v !== "string" || !v) return null;
  if (field.type === "date") return parseDate(v);
  if (field.type === "datetime") return parseUtcDatetime(v);
  return parseTime(v);
}

function dayjsOut(field: FieldMeta, d: Dayjs | null): string | undefined {
  if (!d) return undefined;
  if (field.type === "date") return d.format(DATE_FORMAT);
  if (field.type === "datetime") return datetimeToWire(d);
  return d.format(TIME_FORMAT);
}

/** One value control matching the field type (no range handling). */
function SingleValue({ field, op, value, onChange, testId }: ValueProps) {
  const style = { width: 200 };
  switch (field.type) {
    case "int":
    case "float":
    case "decimal":
      return (
        <InputNumber
          data-testid={testId}
          style={style}
          value={typeof value === "number" ? value : null}
          precision={field.type === "int" ? 0 : undefined}
          onChange={(v) => onChange(v ?? undefined)}
        />
      );
    case "date":
    case "datetime":
      return (
        <DatePicker
          data-testid={testId}
          style={style}
          showTime={field.type === "datetime"}
          value={dayjsOf(field, value)}
          onChange={(d) => onChange(dayjsOut(field, d as Dayjs | null))}
        />
      );
    case "time":
      return (
        <TimePicker
          data-testid={testId}
          style={style}
          value={dayjsOf(field, value)}
          onChange={(d) => onChange(dayjsOut(field, d as Dayjs | null))}
        />
      );
    case "select": {
      const options = (Array.isArray(field.options) ? field.options : []).map((o) => ({ value: o, label: o }));
      return (
        <Select
          data-testid={testId}
          style={{ minWidth: 200 }}
          mode={op === "in" ? "multiple" : undefined}
          options={options}
          value={value as string | string[] | undefined}
          onChange={(v) => onChange(v)}
          placeholder="Value"
        />
      );
    }
    case "check":
      return (
        <Select
          data-testid={testId}
          style={style}
          options={[
            { value: true, label: "Yes" },
            { value: false, label: "No" },
          ]}
          value={typeof value === "boolean" ? value : undefined}
          onChange={(v) => onChange(v)}
          placeholder="Value"
        />
      );
    default:
      return (
        <Input
          data-testid={testId}
          style={style}
          value={typeof value === "string" ? value : ""}
          onChange={(e) => onChange(e.target.value)}
          onPressEnter={(e) => (e.target as HTMLInputElement).form?.requestSubmit()}
          placeholder={op === "like" || op === "not_like" ? "contains…" : "Value"}
        />
      );
  }
}

function ValueControl(props: Omit<ValueProps, "testId">) {
  if (!needsValue(props.op)) return null;
  if (props.op === "between") {
    const pair = Array.isArray(props.value) ? props.value : [];
    return (
      <Space>
        <SingleValue {...props} testId="filter-value" value={pair[0]} onChange={(v) => props.onChange([v, pair[1]])} />
        <span>and</span>
        <SingleValue {...props} testId="filter-value-to" value={pair[1]} onChange={(v) => props.onChange([pair[0], v])} />
      </Space>
    );
  }
  return <SingleValue {...props} testId="filter-value" />;
}

/** One filter: its field, its operator and its value(s). */
function FilterRowEditor({
  fields,
  byName,
  row: r,
  onChange,
  onRemove,
}: {
  fields: FieldMeta[];
  byName: Map<string, FieldMeta>;
  row: FilterRow;
  onChange: (patch: Partial<FilterRow>) => void;
  onRemove: () => void;
}) {
  const field = byName.get(r.field);
  const ops = field ? operatorsFor(field.type) : [];
  return (
    <Space data-testid="filter-row" wrap>
      <Select
        data-testid="filter-field"
        style={{ width: 200 }}
        showSearch
        optionFilterProp="label"
        value={r.field}
        options={fields.map((f) => ({ value: f.name, label: f.label || f.name }))}
        onChange={(name: string) => {
          const nf = byName.get(name);
          const nops = nf ? operatorsFor(nf.type) : [];
          // a value typed for another field type would be meaningless here
          onChange({ field: name, op: nops.includes(r.op) ? r.op : nops[0]!, value: undefined });
        }}
      />
      <Select
        data-testid="filter-operator"
        style={{ width: 140 }}
        value={r.op}
        options={ops.map((o) => ({ value: o, label: OP_LABELS[o] }))}
        onChange={(op: FilterOp) =>
          onChange({
            op,
            value: op === "between" || op === "in" || r.op === "between" || r.op === "in" ? undefined : r.value,
          })
        }
      />
      {field && <ValueControl field={field} op={r.op} value={r.value} onChange={(value) => onChange({ value })} />}
      <Button data-testid="filter-remove" aria-label="Remove filter" icon={<CloseOutlined />} onClick={onRemove} />
    </Space>
  );
}

export function FilterBar({
  fields,
  applied,
  onApply,
}: {
  fields: FieldMeta[];
  applied: FilterRow[];
  onApply: (rows: FilterRow[]) => void;
}) {
  const [rows, setRows] = useState<FilterRow[]>(applied);
  const byName = new Map(fields.map((f) => [f.name, f]));

  const update = (i: number, patch: Partial<FilterRow>) =>
    setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  const addRow = () => {
    const f = fields[0];
    if (f) setRows((rs) => [...rs, { field: f.name, op: operatorsFor(f.type)[0]! }]);
  };

  return (
    <form
      data-testid="filter-bar"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(rows);
      }}
      style={{ marginBottom: 16 }}
    >
      <Space direction="vertical" style={{ width: "100%" }}>
        {rows.map((r, i) => (
          <FilterRowEditor
            key={i}
            fields={fields}
            byName={byName}
            row={r}
            onChange={(patch) => update(i, patch)}
            onRemove={() => setRows((rs) => rs.filter((_, j) => j !== i))}
          />
        ))}
        <Space>
          <Button data-testid="filter-add" icon={<PlusOutlined />} onClick={addRow} disabled={fields.length === 0}>
            Add filter
          </Button>
          <Button data-testid="filter-apply" type="primary" htmlType="submit">
            Apply
          </Button>
          <Button
            data-testid="filter-clear"
            onClick={() => {
              setRows([]);
              onApply([]);
            }}
          >
            Clear
          </Button>
        </Space>
      </Space>
    </form>
  );
}
