import "@ant-design/v5-patch-for-react-19";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { loadPlugins } from "./boot";
import { App } from "./App";

// loadPlugins never throws: failed plugins are listed in registry.failures and shown by the shell.
const registry = await loadPlugins();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App registry={registry} />
  </StrictMode>,
);
