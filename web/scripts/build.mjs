// Bundles the web client (src/) with esbuild into the server's static folder, then copies
// the files GraphiQL and Swagger UI need (scripts/vendor.mjs). Output is git-ignored.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { schemaEnums } from "./schema-enums.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "..", "server", "ose_mesh", "api", "web", "static", "app");

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(here, "..", "src", "main.jsx")],
  bundle: true,
  splitting: true, // the 3D view (three.js) loads only when it is switched on
  format: "esm",
  minify: true,
  sourcemap: true,
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir,
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
  plugins: [schemaEnums],
});
console.log(`built the web client into ${outdir}`);
