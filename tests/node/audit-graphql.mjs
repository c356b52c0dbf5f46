// Runs graphql-http's GraphQL-over-HTTP audit against the server at argv[2] and prints, as
// JSON, each audit's name and result: {name, status: "ok" | "warn" | "error", reason}.
import { serverAudits } from "graphql-http";

const url = process.argv[2];
const results = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  results.push({ name: audit.name, status: result.status, reason: result.reason ?? "" });
}
process.stdout.write(JSON.stringify(results));
