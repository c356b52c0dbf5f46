// Copies the files GraphiQL's and Swagger UI's pages need from node_modules into the server's static folder,
// laid out as "package@version/path" so the page's CDN URLs map one to one.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "..", "node_modules");
const target = join(here, "..", "..", "server", "ose_mesh", "api", "web", "static", "vendor");

const files = {
  react: ["umd/react.production.min.js"],
  "react-dom": ["umd/react-dom.production.min.js"],
  "js-cookie": ["dist/js.cookie.min.js"],
  graphiql: ["graphiql.min.js", "graphiql.min.css"],
  "@graphiql/plugin-explorer": ["dist/index.umd.js", "dist/style.css"],
  "graphql-ws": ["umd/graphql-ws.min.js"],
  "swagger-ui-dist": ["swagger-ui-bundle.js", "swagger-ui.css"],
};

for (const [name, paths] of Object.entries(files)) {
  const { version } = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));
  for (const path of paths) {
    const destination = join(target, `${name}@${version}`, path);
    mkdirSync(dirname(destination), { recursive: true });
    copyFileSync(join(modules, name, path), destination);
  }
}
console.log(`vendored ${Object.keys(files).length} packages into ${target}`);
