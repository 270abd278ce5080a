// The Desk's frame: sidebar (DocTypes and plugin menus by group), header (user, logout), the
// plugin-failure notice, and the routed page.
import { Suspense, useMemo } from "react";
import { Link, Outlet, useLocation } from "react-router";
import { useLogout } from "@refinedev/core";
import { Alert, Button, Layout, Menu, Space, Spin, Typography } from "antd";
import type { MenuProps } from "antd";
import { UserOutlined, LogoutOutlined } from "@ant-design/icons";
import type { PluginRegistry } from "@framework-m/sdk";
import { useCurrentUser, useDoctypes } from "../providers";
import { buildNav, selectedKey } from "./menu";
import { iconFor } from "./icons";

const { Header, Sider, Content } = Layout;

export function PageSpinner() {
  return (
    <div style={{ padding: 48, textAlign: "center" }}>
      <Spin />
    </div>
  );
}

export function PluginFailures({ registry }: { registry: PluginRegistry }) {
  const failures = registry.failures;
  if (failures.length === 0) return null;
  return (
    <Alert
      data-testid="plugin-failures"
      type="warning"
      showIcon
      closable
      style={{ marginBottom: 16 }}
      message={`${failures.length} plugin${failures.length === 1 ? "" : "s"} could not be loaded; the Desk works without ${failures.length === 1 ? "it" : "them"}.`}
      description={
        <ul style={{ margin: 0, paddingLeft: 20 }}>
          {failures.map((f, i) => (
            <li key={i}>
              <b>{f.plugin}</b> ({f.phase}): {f.message}
            </li>
          ))}
        </ul>
      }
    />
  );
}

function Sidebar({ registry }: { registry: PluginRegistry }) {
  const { data: doctypes } = useDoctypes();
  const { pathname } = useLocation();
  const groups = useMemo(() => buildNav(doctypes ?? [], registry.menus), [doctypes, registry]);
  const items: MenuProps["items"] = groups.map((g) => ({
    type: "group" as const,
    key: `group:${g.group}`,
    label: <span data-testid={`nav-group-${g.group}`}>{g.group}</span>,
    children: g.items.map((i) => ({
      key: i.key,
      icon: iconFor(i.icon),
      label: (
        <Link to={i.path} data-testid={i.testId}>
          {i.label}
        </Link>
      ),
    })),
  }));
  const sel = selectedKey(groups, pathname);
  return (
    <div data-testid="sidebar">
      <Menu mode="inline" items={items} selectedKeys={sel ? [sel] : []} style={{ borderInlineEnd: 0 }} />
    </div>
  );
}

function UserArea() {
  const { data: user } = useCurrentUser();
  const { mutate: logout, isPending } = useLogout();
  return (
    <Space size="middle">
      <Space data-testid="user-menu" title={user?.email}>
        <UserOutlined />
        <Typography.Text>{user?.name ?? ""}</Typography.Text>
      </Space>
      <Button data-testid="logout" icon={<LogoutOutlined />} loading={isPending} onClick={() => logout()}>
        Log out
      </Button>
    </Space>
  );
}

export function DeskLayout({ registry }: { registry: PluginRegistry }) {
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Header
        style={{
          display: "flex",
          alignItems: "center",
          justifyContent: "space-between",
          background: "#fff",
          borderBottom: "1px solid #f0f0f0",
          paddingInline: 24,
        }}
      >
        <Link to="/" style={{ fontWeight: 600, fontSize: 18 }} data-testid="home-link">
          m Desk
        </Link>
        <UserArea />
      </Header>
      <Layout>
        <Sider width={220} theme="light" style={{ borderInlineEnd: "1px solid #f0f0f0", overflow: "auto" }}>
          <Sidebar registry={registry} />
        </Sider>
        <Content style={{ padding: 24, minWidth: 0 }}>
          <PluginFailures registry={registry} />
          <Suspense fallback={<PageSpinner />}>
            <Outlet />
          </Suspense>
        </Content>
      </Layout>
    </Layout>
  );
}
