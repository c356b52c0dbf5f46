// The schema's enums for the client, so their values are written once (schema.graphql, made
// from the server's code): `import { HealthStatus } from "schema-enums"` gives the values
// in lower case, in the schema's order. An esbuild plugin (build.mjs) and eslint both use it.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSchema, GraphQLEnumType } from "graphql";

const here = dirname(fileURLToPath(import.meta.url));
export const SCHEMA_FILE = join(here, "..", "..", "schema.graphql");

export function enumsModule() {
  const schema = buildSchema(readFileSync(SCHEMA_FILE, "utf8"));
  const lines = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLEnumType) || type.name.startsWith("__")) continue;
    const values = type.getValues().map((value) => value.name.toLowerCase());
    lines.push(`export const ${type.name} = ${JSON.stringify(values)};`);
  }
  return lines.join("\n") + "\n";
}

export const schemaEnums = {
  name: "schema-enums",
  setup(build) {
    build.onResolve({ filter: /^schema-enums$/ }, () => ({
      path: "schema-enums",
      namespace: "schema-enums",
      watchFiles: [SCHEMA_FILE],
    }));
    build.onLoad({ filter: /.*/, namespace: "schema-enums" }, () => ({
      contents: enumsModule(),
      loader: "js",
    }));
  },
};
