// ui_meta.icon names → a curated set of antd icons, each imported by name so the bundle holds
// only these (looking names up in the whole set would bundle all of them: megabytes); unknown
// names get the fallback.
import type { ReactNode } from "react";
import {
  AppstoreOutlined,
  BankOutlined,
  BarChartOutlined,
  BookOutlined,
  CalendarOutlined,
  CarOutlined,
  ClockCircleOutlined,
  CreditCardOutlined,
  DatabaseOutlined,
  DollarOutlined,
  FileOutlined,
  FileTextOutlined,
  FolderOutlined,
  GlobalOutlined,
  HomeOutlined,
  InboxOutlined,
  KeyOutlined,
  LockOutlined,
  MailOutlined,
  PhoneOutlined,
  ProjectOutlined,
  SafetyOutlined,
  ScheduleOutlined,
  SettingOutlined,
  ShopOutlined,
  ShoppingCartOutlined,
  TagOutlined,
  TeamOutlined,
  ToolOutlined,
  UserOutlined,
} from "@ant-design/icons"; // tree-shaken: the package has sideEffects: false

const ICONS: Record<string, () => ReactNode> = {
  appstore: () => <AppstoreOutlined />,
  bank: () => <BankOutlined />,
  "bar-chart": () => <BarChartOutlined />,
  book: () => <BookOutlined />,
  calendar: () => <CalendarOutlined />,
  car: () => <CarOutlined />,
  clock: () => <ClockCircleOutlined />,
  "credit-card": () => <CreditCardOutlined />,
  database: () => <DatabaseOutlined />,
  dollar: () => <DollarOutlined />,
  file: () => <FileOutlined />,
  "file-text": () => <FileTextOutlined />,
  folder: () => <FolderOutlined />,
  global: () => <GlobalOutlined />,
  home: () => <HomeOutlined />,
  inbox: () => <InboxOutlined />,
  key: () => <KeyOutlined />,
  lock: () => <LockOutlined />,
  mail: () => <MailOutlined />,
  phone: () => <PhoneOutlined />,
  project: () => <ProjectOutlined />,
  safety: () => <SafetyOutlined />,
  schedule: () => <ScheduleOutlined />,
  setting: () => <SettingOutlined />,
  shop: () => <ShopOutlined />,
  "shopping-cart": () => <ShoppingCartOutlined />,
  tag: () => <TagOutlined />,
  team: () => <TeamOutlined />,
  tool: () => <ToolOutlined />,
  user: () => <UserOutlined />,
};

/** The icon for a ui_meta.icon name; accepts "file-text", "FileText", "file_text", "FileTextOutlined". */
export function iconFor(name: string | undefined): ReactNode {
  const key = (name ?? "")
    .replace(/Outlined$|Filled$|TwoTone$/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/_/g, "-")
    .toLowerCase();
  return (ICONS[key] ?? ICONS.appstore)();
}

export const knownIcons = Object.keys(ICONS);
