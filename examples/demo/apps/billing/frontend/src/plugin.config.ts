// Desk plugin of the billing app. Found by framework-m-vite-plugin through the "framework-m"
// key of ../package.json; react, antd, @refinedev/core and @framework-m/sdk are the Desk's copies.
import { definePlugin } from "@framework-m/sdk";
import BillingOverview from "./BillingOverview.tsx";

export default definePlugin({
  name: "@billing/desk",
  app_id: "billing",
  menus: [
    {
      key: "billing-overview",
      label: "Billing overview",
      path: "/billing/overview",
      group: "Selling",
      icon: "dollar",
    },
  ],
  routes: [{ path: "/billing/overview", component: BillingOverview }],
});
