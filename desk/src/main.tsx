import "@ant-design/v5-patch-for-react-19";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { loadPlugins } from "./boot";
import { App, preloadRoute, queryClient } from "./App";
import { primeFromBoot } from "./prefetch";

// In parallel: the plugins, what index.html prefetched (seeding the query cache) and the first
// screen's view chunk. None of them throws: failed plugins are listed in registry.failures and
// shown by the shell; a failed prefetch or preload is fetched again by the render.
const [registry] = await Promise.all([
  loadPlugins(),
  primeFromBoot(queryClient),
  preloadRoute(window.location.pathname),
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App registry={registry} />
  </StrictMode>,
);
