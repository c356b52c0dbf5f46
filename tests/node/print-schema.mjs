// Reads {sdl, introspection} on stdin and prints, with graphql-js, both schemas as SDL:
// the committed schema.graphql and the schema a client builds from the live introspection,
// both sorted (the two list their types in different orders).
import { buildClientSchema, buildSchema, lexicographicSortSchema, printSchema } from "graphql";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { sdl, introspection } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
process.stdout.write(
  JSON.stringify({
    file: printSchema(lexicographicSortSchema(buildSchema(sdl))),
    live: printSchema(lexicographicSortSchema(buildClientSchema(introspection))),
  }),
);
