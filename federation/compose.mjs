// Composes the gateway's subgraph with the reviews subgraph using Apollo's own composition and
// prints {"ok", "errors", "hints"} as JSON. Exit code 1 when composition fails.
//
//   node compose.mjs [--sdl ../schema.graphql | --url http://127.0.0.1:8000/graphql] [--supergraph out.graphql]
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { typeDefs as reviewsTypeDefs } from "./reviews-schema.mjs";

const { values } = parseArgs({
  options: {
    sdl: { type: "string", default: new URL("../schema.graphql", import.meta.url).pathname },
    url: { type: "string" },
    supergraph: { type: "string" },
  },
});

/** Our SDL, either from the committed file or live from `_service { sdl }`. */
async function jobsSdl() {
  if (!values.url) return readFile(values.sdl, "utf8");
  const response = await fetch(values.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data._service.sdl;
}

const result = composeServices([
  { name: "jobs", url: values.url ?? "http://127.0.0.1:8000/graphql", typeDefs: parse(await jobsSdl()) },
  { name: "reviews", url: "http://127.0.0.1:4001/", typeDefs: reviewsTypeDefs },
]);
const describe = (item) => ({ code: item.extensions?.code ?? item.definition?.code ?? null, message: item.message });
const report = {
  ok: !result.errors,
  errors: (result.errors ?? []).map(describe),
  hints: (result.hints ?? []).map(describe),
};
if (values.supergraph && result.supergraphSdl) await writeFile(values.supergraph, result.supergraphSdl);
console.log(JSON.stringify(report, null, 2));
process.exitCode = report.ok ? 0 : 1;
