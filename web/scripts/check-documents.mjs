// Validates every GraphQL document of the client (src/lib/documents.js) against the server's
// schema.graphql with graphql-js. Exits 1 naming each document that does not validate.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSchema, parse, validate } from "graphql";
import * as documents from "../src/lib/documents.js";

const here = dirname(fileURLToPath(import.meta.url));
const schema = buildSchema(readFileSync(join(here, "..", "..", "schema.graphql"), "utf8"));
let failures = 0;
for (const [name, text] of Object.entries(documents)) {
  let errors;
  try {
    errors = validate(schema, parse(text));
  } catch (error) {
    errors = [error];
  }
  for (const error of errors) {
    failures += 1;
    console.error(`${name}: ${error.message}`);
  }
}
console.log(`${Object.keys(documents).length} documents checked, ${failures} problems`);
process.exit(failures ? 1 : 0);
