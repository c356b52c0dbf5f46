// The web client: one shell (header, navigation, live-connection indicator) and a page
// chosen by the address. Pages are separate addresses served by the same HTML.
import { render } from "preact";
import "./style.css";
import { ConnectionIndicator, TokenPrompt } from "./lib/components.jsx";
import { Dashboard } from "./pages/dashboard.jsx";
import { Dependencies } from "./pages/dependencies.jsx";
import { Events } from "./pages/events.jsx";
import { Overview } from "./pages/overview.jsx";
import { StatusPage, statusCluster } from "./pages/status.jsx";
import { services, startServices } from "./lib/stores.js";

const PAGES = {
  "/": { title: "Overview", Page: Overview },
  "/heartbeat-dashboard": { title: "Heartbeats", Page: Dashboard },
  "/dependencies": { title: "Dependencies", Page: Dependencies },
  "/events": { title: "Events", Page: Events },
};

function App() {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const { title, Page } = PAGES[path] ?? PAGES["/"];
  document.title = `${title} · OSE Service Mesh`;
  startServices();
  const demo = [...services.value.values()].some((service) => service.demo);
  return (
    <>
      <header class="top">
        <a class="brand" href="/">OSE Service Mesh</a>
        <nav aria-label="Pages">
          {Object.entries(PAGES).map(([href, page]) => (
            <a key={href} href={href} aria-current={href === path ? "page" : undefined}>
              {page.title}
            </a>
          ))}
          <a href="/status">Status page</a>
          <a href="/graphql">GraphiQL</a>
          <a href="/api/docs">API docs</a>
        </nav>
        <ConnectionIndicator />
      </header>
      <TokenPrompt />
      {demo ? <p class="banner">Demo mode: the demo services are simulated.</p> : null}
      <Page />
    </>
  );
}

// The status page is public: no console around it, no token asked, no console data loaded.
const path = location.pathname.replace(/\/+$/, "");
const isStatusPage = path === "/status" || path.startsWith("/status/");
render(
  isStatusPage ? <StatusPage cluster={statusCluster(path)} /> : <App />,
  document.getElementById("app"),
);
