import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { fieldMeta } from "./fieldMeta.testutil";
import { FilterBar, filterableFields } from "./FilterBar";

const field = fieldMeta;

describe("FilterBar", () => {
  it("leaves out fields that cannot be filtered", () => {
    const out = filterableFields([field("a", "data"), field("b", "json"), field("c", "table"), field("d", "int", { hidden: true })]);
    expect(out.map((f) => f.name)).toEqual(["a"]);
  });

  it("adds, fills, removes rows and applies what is filled in", () => {
    const onApply = vi.fn();
    render(<FilterBar fields={[field("customer_name", "data")]} applied={[]} onApply={onApply} />);
    fireEvent.click(screen.getByTestId("filter-add"));
    fireEvent.click(screen.getByTestId("filter-add"));
    expect(screen.getAllByTestId("filter-row")).toHaveLength(2);
    fireEvent.click(screen.getAllByTestId("filter-remove")[1]!);
    expect(screen.getAllByTestId("filter-row")).toHaveLength(1);
    fireEvent.change(screen.getByTestId("filter-value"), { target: { value: "acme" } });
    fireEvent.click(screen.getByTestId("filter-apply"));
    expect(onApply).toHaveBeenLastCalledWith([{ field: "customer_name", op: "like", value: "acme" }]);
    fireEvent.click(screen.getByTestId("filter-clear"));
    expect(onApply).toHaveBeenLastCalledWith([]);
    expect(screen.queryAllByTestId("filter-row")).toHaveLength(0);
  });

  it("starts from the filters in the URL", () => {
    render(
      <FilterBar fields={[field("notes", "text")]} applied={[{ field: "notes", op: "is_null" }]} onApply={() => {}} />,
    );
    expect(screen.getAllByTestId("filter-row")).toHaveLength(1);
    expect(screen.queryByTestId("filter-value")).toBeNull(); // "is empty" takes no value
  });
});
