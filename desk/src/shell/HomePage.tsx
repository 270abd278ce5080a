// Home: one card per sidebar group, listing its DocTypes (and plugin pages).
import { Link } from "react-router";
import { Card, Col, Empty, Row, Space, Typography } from "antd";
import type { PluginRegistry } from "@framework-m/sdk";
import { useDoctypes } from "../providers";
import { buildNav } from "./menu";
import { iconFor } from "./icons";
import { PageSpinner } from "./DeskLayout";

export default function HomePage({ registry }: { registry: PluginRegistry }) {
  const { data, isLoading } = useDoctypes();
  if (isLoading) return <PageSpinner />;
  const groups = buildNav(data ?? [], registry.menus);
  return (
    <div data-testid="home">
      <Typography.Title level={3} style={{ marginTop: 0 }}>
        Home
      </Typography.Title>
      {groups.length === 0 && <Empty description="Nothing to show yet" />}
      <Row gutter={[16, 16]}>
        {groups.map((g) => (
          <Col key={g.group} xs={24} md={12} xl={8}>
            <Card title={g.group} data-testid={`home-group-${g.group}`} size="small">
              <Space direction="vertical">
                {g.items.map((i) => (
                  <Link key={i.key} to={i.path} data-testid={`home-${i.testId}`}>
                    <Space>
                      {iconFor(i.icon)}
                      {i.label}
                    </Space>
                  </Link>
                ))}
              </Space>
            </Card>
          </Col>
        ))}
      </Row>
    </div>
  );
}
