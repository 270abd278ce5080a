// Invoices by document status. Each count is a one-row list query with an exact total, so the
// page costs three small requests however many invoices there are.
import { useList } from "@refinedev/core";
import { Card, Col, Row, Statistic, Typography } from "antd";
import { Link } from "react-router";

const STATUSES = [
  { docstatus: 0, title: "Draft", color: undefined },
  { docstatus: 1, title: "Submitted", color: "#3f8600" },
  { docstatus: 2, title: "Cancelled", color: "#cf1322" },
] as const;

function InvoiceCount({ docstatus, title, color }: (typeof STATUSES)[number]) {
  const { result, query } = useList({
    resource: "Invoice",
    filters: [{ field: "docstatus", operator: "eq", value: docstatus }],
    pagination: { currentPage: 1, pageSize: 1 },
    meta: { count: "exact", fields: ["id"] },
  });
  return (
    <Card data-testid={`billing-count-${title.toLowerCase()}`}>
      <Statistic
        title={`${title} invoices`}
        value={query.isError ? "—" : (result?.total ?? 0)}
        loading={query.isLoading}
        valueStyle={color ? { color } : undefined}
      />
      {query.isError && (
        <Typography.Text type="danger" data-testid="billing-count-error">
          {query.error?.message ?? "could not load invoices"}
        </Typography.Text>
      )}
    </Card>
  );
}

export default function BillingOverview() {
  return (
    <div data-testid="billing-overview" style={{ padding: 24 }}>
      <Typography.Title level={3}>Billing overview</Typography.Title>
      <Typography.Paragraph type="secondary">
        Invoices by status. Drafts can still be edited; submitted invoices are final until cancelled.{" "}
        <Link to="/app/Invoice">Open the invoice list</Link>
      </Typography.Paragraph>
      <Row gutter={[16, 16]}>
        {STATUSES.map((s) => (
          <Col key={s.docstatus} xs={24} sm={8}>
            <InvoiceCount {...s} />
          </Col>
        ))}
      </Row>
    </div>
  );
}

